package check

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
)

// FactResult is the verdict on one fact of one host: what was found
// beside what was wanted. A fact that could not be determined is Unknown
// and never OK.
type FactResult struct {
	OK      bool   `json:"ok"`
	Unknown bool   `json:"unknown,omitempty"`
	Found   string `json:"found"` // "1.18.0", "not installed", "unknown (no dpkg or rpm)", "listening", "1.2GiB free"
	Want    string `json:"want"`  // ">= 1.22", "installed", "free", ">= 2GiB free"
	Detail  string `json:"detail"`
}

var (
	versionInOutput = regexp.MustCompile(`[0-9]+(\.[0-9]+)+[A-Za-z0-9+~^_]*`)
	octalRe         = regexp.MustCompile(`^[0-7]{1,4}$`)
	ownerRe         = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,63}$`)
	hex64Re         = regexp.MustCompile(`^[0-9a-f]{64}$`)
	stateWordRe     = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)
)

// JudgeFact decides a fact from what its probe reported (obs, from
// ParseFacts; nil when the host could not be probed at all, with why).
func JudgeFact(f *rollout.Fact, obs map[string]string, why string) FactResult {
	r := judge(f, obs, why)
	if r.Unknown {
		r.OK = false
	}
	r.Detail = fmt.Sprintf("%s %s, want %s", subject(f), r.Found, r.Want)
	return r
}

func subject(f *rollout.Fact) string {
	switch f.Kind {
	case "package", "service":
		return f.Name
	case "command":
		return "command " + f.Name
	case "user":
		return "user " + f.Name
	case "port":
		return fmt.Sprintf("port %d", f.Port)
	case "disk", "file":
		return f.Path
	case "memory":
		return "memory"
	}
	return f.Kind
}

func unknown(want, why string) FactResult {
	found := "unknown"
	if why != "" {
		found += " (" + why + ")"
	}
	return FactResult{Unknown: true, Found: found, Want: want}
}

func judge(f *rollout.Fact, obs map[string]string, why string) FactResult {
	want := wantOf(f)
	if obs == nil {
		return unknown(want, why)
	}
	switch f.Kind {
	case "package":
		return judgePackage(f, obs, want)
	case "command":
		return judgeCommand(f, obs, want)
	case "service":
		return judgeService(f, obs, want)
	case "port":
		switch obs["listening"] {
		case "yes":
			return FactResult{OK: f.State == "listening", Found: "listening", Want: want}
		case "no":
			return FactResult{OK: f.State == "free", Found: "free", Want: want}
		}
		return unknown(want, "/proc/net/tcp not readable")
	case "disk", "memory":
		kib, ok := obs["avail_kib"]
		if !ok || !isDigits(kib) {
			if f.Kind == "disk" {
				return unknown(want, "df gave no answer for the path")
			}
			return unknown(want, "no MemAvailable in /proc/meminfo")
		}
		n, err := strconv.ParseInt(kib, 10, 64)
		if err != nil || n > 1<<52 {
			return unknown(want, "bad number")
		}
		word := " free"
		if f.Kind == "memory" {
			word = " available"
		}
		return FactResult{OK: n*1024 >= f.Bytes, Found: plan.FormatBytes(n*1024) + word, Want: want}
	case "user":
		switch obs["exists"] {
		case "yes":
			uid := obs["uid"]
			if !isDigits(uid) {
				return unknown(want, "id gave no uid")
			}
			return FactResult{OK: true, Found: "exists (uid " + uid + ")", Want: want}
		case "no":
			return FactResult{Found: "missing", Want: want}
		}
		return unknown(want, "")
	case "file":
		return judgeFile(f, obs, want)
	}
	return unknown(want, "unknown kind of fact "+f.Kind)
}

// FactWant says what a fact wants, as the review shows it: ">= 1.22",
// "free", ">= 2GiB free".
func FactWant(f *rollout.Fact) string { return wantOf(f) }

func wantOf(f *rollout.Fact) string {
	switch f.Kind {
	case "package":
		if f.Version != "" {
			return f.Version
		}
		return "installed"
	case "command":
		if f.Version != "" {
			return f.Version
		}
		return "on PATH"
	case "service", "port":
		return f.State
	case "disk":
		return ">= " + plan.FormatBytes(f.Bytes) + " free"
	case "memory":
		return ">= " + plan.FormatBytes(f.Bytes) + " available"
	case "user":
		return "exists"
	case "file":
		if !f.Exists {
			return "absent"
		}
		parts := []string{"exists"}
		if f.Mode != "" {
			parts = append(parts, "mode "+f.Mode)
		}
		if f.Owner != "" {
			parts = append(parts, "owner "+f.Owner)
		}
		if f.SHA256 != "" {
			parts = append(parts, "sha256 "+short(strings.ToLower(f.SHA256)))
		}
		return strings.Join(parts, ", ")
	}
	return "?"
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// versionFound checks a version a target reported: it must look like a
// version, or it is unknown.
func versionFound(v string) (string, bool) {
	_, ver, err := plan.ParseConstraint("= " + v)
	return ver, err == nil && ver == v
}

func versionSatisfies(f *rollout.Fact, order, found, want string) FactResult {
	c, err := ParseConstraint(f.Version)
	if err != nil {
		return unknown(want, "bad constraint: "+err.Error())
	}
	return FactResult{OK: c.Satisfied(order, found), Found: found, Want: want}
}

func judgePackage(f *rollout.Fact, obs map[string]string, want string) FactResult {
	mgr := obs["mgr"]
	switch mgr {
	case "dpkg", "rpm", "apk":
	case "none":
		return unknown(want, "no dpkg, rpm or apk on the host")
	default:
		return unknown(want, "")
	}
	switch obs["installed"] {
	case "no":
		return FactResult{Found: "not installed", Want: want}
	case "yes":
	default:
		return unknown(want, "")
	}
	if f.Version == "" {
		found := "installed"
		if v, ok := versionFound(obs["version"]); ok {
			found = v
		}
		return FactResult{OK: true, Found: found, Want: want}
	}
	if mgr == "apk" {
		return unknown(want, "installed, but apk versions are not compared")
	}
	v, ok := versionFound(obs["version"])
	if !ok {
		return unknown(want, "installed, version unreadable")
	}
	return versionSatisfies(f, mgr, v, want)
}

func judgeCommand(f *rollout.Fact, obs map[string]string, want string) FactResult {
	switch obs["found"] {
	case "no":
		return FactResult{Found: "not on PATH", Want: want}
	case "yes":
	default:
		return unknown(want, "")
	}
	if f.Version == "" {
		found := "found"
		if p := obs["path"]; p != "" && len(p) < 256 && printable(p) {
			found = "at " + p
		}
		return FactResult{OK: true, Found: found, Want: want}
	}
	v := versionInOutput.FindString(obs["output"])
	if v == "" {
		return unknown(want, "no version in `"+f.Name+" --version`")
	}
	if _, ok := versionFound(v); !ok {
		return unknown(want, "version unreadable")
	}
	return versionSatisfies(f, OrderDpkg, v, want)
}

// printable reports whether s is valid UTF-8 with no control or other
// non-printing characters: safe to show on a terminal as it is.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func judgeService(f *rollout.Fact, obs map[string]string, want string) FactResult {
	state := ""
	switch obs["via"] {
	case "systemd":
		active := obs["active"]
		if obs["load"] == "not-found" {
			return FactResult{OK: f.State == "stopped", Found: "not installed", Want: want}
		}
		if !stateWordRe.MatchString(active) {
			return unknown(want, "systemctl gave no state")
		}
		state = "stopped (" + active + ")"
		if active == "active" || active == "reloading" {
			state = "running"
		}
	case "process":
		switch obs["running"] {
		case "yes":
			state = "running (process)"
		case "no":
			state = "stopped (no process)"
		default:
			return unknown(want, "no systemd, pidof or pgrep")
		}
	default:
		return unknown(want, "")
	}
	return FactResult{OK: strings.HasPrefix(state, f.State), Found: state, Want: want}
}

func judgeFile(f *rollout.Fact, obs map[string]string, want string) FactResult {
	switch obs["exists"] {
	case "no":
		return FactResult{OK: !f.Exists, Found: "absent", Want: want}
	case "yes":
	default:
		return unknown(want, "")
	}
	if !f.Exists {
		return FactResult{Found: "exists", Want: want}
	}
	parts := []string{"exists"}
	ok, unk := true, false
	if f.Mode != "" {
		m := obs["mode"]
		if !octalRe.MatchString(m) {
			parts, unk = append(parts, "mode unknown"), true
		} else {
			got, _ := strconv.ParseUint(m, 8, 32)
			wantMode, _ := strconv.ParseUint(f.Mode, 8, 32)
			parts = append(parts, fmt.Sprintf("mode %04o", got))
			ok = ok && got == wantMode
		}
	}
	if f.Owner != "" {
		o := obs["owner"]
		if !ownerRe.MatchString(o) {
			parts, unk = append(parts, "owner unknown"), true
		} else {
			parts = append(parts, "owner "+o)
			ok = ok && o == f.Owner
		}
	}
	if f.SHA256 != "" {
		s := obs["sha256"]
		if !hex64Re.MatchString(s) {
			parts, unk = append(parts, "sha256 unknown"), true
		} else {
			parts = append(parts, "sha256 "+short(s))
			ok = ok && s == strings.ToLower(f.SHA256)
		}
	}
	return FactResult{OK: ok && !unk, Unknown: unk, Found: strings.Join(parts, ", "), Want: want}
}
