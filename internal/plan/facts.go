package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FactKinds are the keys of a preflight check that name a built-in fact
// probe, in the order the docs list them.
var FactKinds = []string{"package", "command", "service", "port", "disk", "memory", "user", "file"}

// Package is a package that must be installed (dpkg or rpm), optionally
// in a version range.
type Package struct {
	Meta    `yaml:"-"`
	Name    string `yaml:"name" doc:"package name as dpkg or rpm knows it" required:"true"`
	Version string `yaml:"version" doc:"version constraint: an operator (>=, <=, >, <, =, !=) and a version, compared in dpkg or rpm order"`
}

// Command is a program that must be on the target's PATH.
type Command struct {
	Meta    `yaml:"-"`
	Name    string `yaml:"name" doc:"program name looked up on PATH" required:"true"`
	Version string `yaml:"version" doc:"version constraint on the first version in the output of NAME --version, compared in dpkg order"`
}

// Service is a service that must be running or stopped.
type Service struct {
	Meta  `yaml:"-"`
	Name  string `yaml:"name" doc:"systemd unit name; without systemd, the process name (pidof)" required:"true"`
	State string `yaml:"state" doc:"running (default) or stopped" enum:"running,stopped"`
}

// Port is a TCP port that must be free or listening.
type Port struct {
	Meta   `yaml:"-"`
	Number int    `yaml:"number" doc:"TCP port number" required:"true" min:"1" max:"65535"`
	State  string `yaml:"state" doc:"free: nothing listens on the port; listening: something does" required:"true" enum:"free,listening"`
}

// Disk is free space a filesystem must have.
type Disk struct {
	Meta `yaml:"-"`
	Path string `yaml:"path" doc:"a path on the filesystem" required:"true"`
	Free Bytes  `yaml:"free" doc:"free bytes the filesystem must have for unprivileged users, like 2GiB" required:"true"`
}

// Memory is memory a target must have available.
type Memory struct {
	Meta      `yaml:"-"`
	Available Bytes `yaml:"available" doc:"memory that must be available (MemAvailable), like 512MiB" required:"true"`
}

// File is a file that must (or must not) exist, with a mode, owner or
// content.
type File struct {
	Meta   `yaml:"-"`
	Path   string   `yaml:"path" doc:"absolute path of the file on the target" required:"true"`
	Exists *bool    `yaml:"exists" doc:"whether the file must exist (default true); false: it must not"`
	Mode   FileMode `yaml:"mode" doc:"permission bits the file must have, like \"0640\""`
	Owner  string   `yaml:"owner" doc:"user name that must own the file"`
	SHA256 string   `yaml:"sha256" doc:"sha256 the file's content must have, 64 hex digits"`
}

// MustExist reports whether the file must exist.
func (f *File) MustExist() bool { return f.Exists == nil || *f.Exists }

// Current is the targets.current probe: a script that prints the release
// a host runs now.
type Current struct {
	Meta `yaml:"-"`
	Run  string `yaml:"run" doc:"script run with sh -c on each host during review; prints the release the host runs, nothing when it never had one" required:"true"`
}

// ParseConstraint reads a version constraint: ">= 1.22", ">=1.22",
// "= 1.0" or a bare "1.0" (meaning =). ">>" and "<<" are dpkg's > and <;
// "==" is =. The version is 1 to 128 characters of A-Z a-z 0-9 . + ~ ^ _
// : - (Debian and RPM versions).
func ParseConstraint(s string) (op, version string, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "=>") || strings.HasPrefix(s, "=<") {
		return "", "", fmt.Errorf("version constraint %q: write the operator as >= or <=", s)
	}
	for _, o := range []string{">=", "<=", ">>", "<<", "!=", "==", ">", "<", "="} {
		if strings.HasPrefix(s, o) {
			op, s = o, strings.TrimSpace(s[len(o):])
			break
		}
	}
	switch op {
	case "", "==":
		op = "="
	case ">>":
		op = ">"
	case "<<":
		op = "<"
	}
	if s == "" {
		return "", "", fmt.Errorf("version constraint has no version: write it like \">= 1.22\"")
	}
	if len(s) > 128 {
		return "", "", fmt.Errorf("version %.20q… is longer than 128 characters", s)
	}
	for i, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".+~^_:-", r)) {
			return "", "", fmt.Errorf("version %q: character %q at %d is not allowed in a version (use A-Z a-z 0-9 . + ~ ^ _ : -)", s, r, i+1)
		}
	}
	return op, s, nil
}

// FactKind returns the fact probe a check uses, or "".
func (c *Check) FactKind() string {
	for _, k := range FactKinds {
		if c.Has(k) {
			return k
		}
	}
	return ""
}

// Bytes is an amount of memory or disk: a whole number of bytes or a
// number with a unit (B, kB, MB, GB, TB in powers of 1000; KiB, MiB, GiB,
// TiB in powers of 1024), like 2GiB or 512MiB.
type Bytes struct {
	N   int64
	Set bool
}

func (b Bytes) String() string { return FormatBytes(b.N) }

// FormatBytes writes n with the largest binary unit that keeps a short
// number: 1.5GiB, 512MiB, 900B.
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + units[i]
}

var byteUnits = map[string]float64{
	"": 1, "B": 1,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// ParseBytes reads "2GiB", "512 MiB", "100MB" or "1048576".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q in %q: use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB", unit, s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not an amount of bytes: write it like 2GiB or 512MiB", s)
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v), nil
}

func (b *Bytes) decodeNode(d *decoder, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		d.errorf(posOf(n), "expected an amount of bytes like 2GiB, got %s", kindName(n))
		return
	}
	v, err := ParseBytes(n.Value)
	if err != nil {
		d.errorf(posOf(n), "%v", err)
		return
	}
	b.N, b.Set = v, true
}
