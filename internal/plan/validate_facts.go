package plan

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Names a fact probe may be given. They are single-quoted in the probe
// script anyway; these rules catch typos and options (a leading -).
var (
	packageNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_:-]*$`)
	commandNameRe = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9._+-]*|/[A-Za-z0-9._+/-]+)$`)
	serviceNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9@._:-]*$`)
	userNameRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*\$?$`)
	sha256Re      = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

func factHint(kind string) string {
	if kind == "preflight" {
		return " or a fact (" + strings.Join(FactKinds, ", ") + ")"
	}
	return ""
}

// fact checks the fact probe of a check, if it has one.
func (v *validator) fact(c *Check, kind, label string) {
	k := c.FactKind()
	if k == "" {
		return
	}
	if kind != "preflight" {
		v.errorf(c.KeyPos(k), "%s: %s is a fact probe and belongs in preflight, not %s", label, k, kind)
		return
	}
	if c.Bad(k) {
		return
	}
	if c.Has("interval") {
		v.warnf(c.KeyPos("interval"), "%s: a fact is probed once per review; interval is ignored", label)
	}
	switch k {
	case "package":
		f := c.Package
		v.factName(&f.Meta, "name", f.Name, packageNameRe, label+": package")
		v.constraint(&f.Meta, f.Version, label+": package")
	case "command":
		f := c.Command
		v.factName(&f.Meta, "name", f.Name, commandNameRe, label+": command")
		v.constraint(&f.Meta, f.Version, label+": command")
	case "service":
		f := c.Service
		v.factName(&f.Meta, "name", f.Name, serviceNameRe, label+": service")
	case "port":
		f := c.Port
		if !f.Has("number") {
			v.errorf(f.Pos, "%s: port needs number", label)
		} else if f.Number < 1 || f.Number > 65535 {
			v.errorf(f.ValPos("number"), "%s: port %d is not a TCP port (1-65535)", label, f.Number)
		}
		if f.State == "" {
			v.errorf(f.Pos, "%s: port needs state: free or listening", label)
		}
	case "disk":
		f := c.Disk
		v.absPath(&f.Meta, f.Path, label+": disk")
		if !f.Free.Set && !f.Bad("free") {
			v.errorf(f.Pos, "%s: disk needs free (like 2GiB)", label)
		}
	case "memory":
		f := c.Memory
		if !f.Available.Set && !f.Bad("available") {
			v.errorf(f.Pos, "%s: memory needs available (like 512MiB)", label)
		}
	case "user":
		if !HasExpr(c.User) && !userNameRe.MatchString(c.User) {
			v.errorf(c.ValPos("user"), "%s: %q is not a user name", label, c.User)
		}
	case "file":
		v.file(c.File, label)
	}
}

func (v *validator) file(f *File, label string) {
	v.absPath(&f.Meta, f.Path, label+": file")
	if f.SHA256 != "" && !HasExpr(f.SHA256) && !sha256Re.MatchString(f.SHA256) {
		v.errorf(f.ValPos("sha256"), "%s: file sha256 must be 64 hex digits", label)
	}
	if f.Owner != "" && !HasExpr(f.Owner) && !userNameRe.MatchString(f.Owner) {
		v.errorf(f.ValPos("owner"), "%s: %q is not a user name", label, f.Owner)
	}
	if !f.MustExist() {
		for _, k := range []string{"mode", "owner", "sha256"} {
			if f.Has(k) {
				v.errorf(f.KeyPos(k), "%s: file has exists: false and %s: a file that must not exist has no %s", label, k, k)
			}
		}
	}
}

func (v *validator) factName(m *Meta, key, name string, re *regexp.Regexp, what string) {
	switch {
	case !m.Has(key):
		v.errorf(m.Pos, "%s needs %s", what, key)
	case !re.MatchString(name):
		v.errorf(m.ValPos(key), "%s: %q is not a valid name (%s)", what, name, describeName(name, re))
	}
}

// describeName says what is wrong with a name: its first bad character.
func describeName(name string, re *regexp.Regexp) string {
	if name == "" {
		return "it is empty"
	}
	if name[0] == '-' {
		return "it starts with -"
	}
	for i, r := range name {
		if !re.MatchString("a" + string(r)) {
			return fmt.Sprintf("character %q at %d", r, i+1)
		}
	}
	return "see docs/plan-reference.md"
}

func (v *validator) constraint(m *Meta, s, what string) {
	if s == "" || HasExpr(s) {
		return
	}
	if _, _, err := ParseConstraint(s); err != nil {
		v.errorf(m.ValPos("version"), "%s: %v", what, err)
	}
}

func (v *validator) absPath(m *Meta, p, what string) {
	switch {
	case !m.Has("path"):
		v.errorf(m.Pos, "%s needs path", what)
	case HasExpr(p):
	case !path.IsAbs(p):
		v.errorf(m.ValPos("path"), "%s: path %q must be absolute", what, p)
	case strings.ContainsAny(p, "\n\x00"):
		v.errorf(m.ValPos("path"), "%s: path has a newline or NUL", what)
	}
}

// current checks targets.current.
func (v *validator) current() {
	c := v.p.Targets.Current
	if c == nil || v.p.Targets.Bad("current") {
		return
	}
	if strings.TrimSpace(c.Run) == "" {
		v.errorf(c.Pos, "targets.current needs run: a script that prints the release a host runs")
	}
}
