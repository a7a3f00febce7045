package plan

import (
	"fmt"
	"strings"
)

// This file finds, before anything runs, the values an expression reads
// that will not be there when golive renders it — what `plan`, `review`
// and `run` would otherwise refuse later: a host.vars.X a host lacks
// (Validate), and a secret or an env.X not set in this shell (CheckGiven).

// hostValues reports host.vars.X read where a host lacks X, and host.vars
// read in a value rendered once for the whole run (no host then).
func (v *validator) hostValues() {
	p := v.p
	all := v.targets
	for _, x := range p.Vars {
		if !x.Overridden {
			v.noHost(x.Pos, fmt.Sprintf("var %q", x.Name))
		}
	}
	for _, a := range p.Release.Artifacts {
		for _, k := range []string{"path", "url", "sha256", "sha256_file"} {
			v.noHost(a.ValPos(k), fmt.Sprintf("artifact %q %s", a.Name, k))
		}
	}
	for _, m := range p.Monitors {
		if m.Prometheus != nil {
			v.noHost(m.Prometheus.ValPos("url"), fmt.Sprintf("monitor %q", m.Name))
			v.noHost(m.Prometheus.ValPos("query"), fmt.Sprintf("monitor %q", m.Name))
		}
	}
	for _, n := range p.Notify {
		v.noHost(n.ValPos("webhook"), "notify webhook")
	}
	for _, list := range []struct {
		kind   string
		checks []Check
	}{{"preflight", p.Preflight}, {"verify", p.Verify}} {
		for i := range list.checks {
			c := &list.checks[i]
			where := fmt.Sprintf("%s check %q", list.kind, c.Name)
			if c.Local || len(c.On) == 0 {
				for _, pos := range checkValues(c) {
					v.noHost(pos, where+", which runs on the controller,")
				}
				continue
			}
			hosts, _ := Select(all, c.On)
			for _, pos := range checkValues(c) {
				v.hostVars(pos, hosts, where+" runs")
			}
		}
	}
	for i := range p.Stages {
		s := &p.Stages[i]
		hosts, _ := Select(all, s.On)
		where := fmt.Sprintf("stage %q runs", s.Name)
		for j := range s.Steps {
			st := &s.Steps[j]
			for _, pos := range stepValues(st) {
				v.hostVars(pos, hosts, where)
			}
		}
		for j := range s.Health {
			for _, pos := range checkValues(&s.Health[j]) {
				v.hostVars(pos, hosts, where)
			}
		}
	}
	v.connectionValues()
	v.currentValues()
}

// currentValues checks targets.current, run on every host of a stage.
func (v *validator) currentValues() {
	p, all := v.p, v.targets
	if cur := p.Targets.Current; cur != nil {
		var hosts []*Target // every host of a stage
		for _, t := range all {
			for i := range p.Stages {
				if sel, _ := Select([]*Target{t}, p.Stages[i].On); len(sel) > 0 {
					hosts = append(hosts, t)
					break
				}
			}
		}
		v.hostVars(cur.ValPos("run"), hosts, "targets.current runs")
	}
}

// connectionValues checks the expressions of connection settings: the
// defaults' for every target that keeps them, a host's own for it.
func (v *validator) connectionValues() {
	fields := []string{"address", "user", "identity_file", "known_hosts", "jump", "dir"}
	d := &v.p.Targets.Defaults
	for _, k := range fields {
		if d.Has(k) {
			v.hostVars(d.ValPos(k), v.targets, "targets.defaults applies to")
		}
	}
	for _, h := range v.p.Targets.Hosts {
		var me []*Target
		for _, t := range v.targets {
			if t.Name == h.Name {
				me = append(me, t)
			}
		}
		for _, k := range fields {
			if h.Has(k) {
				v.hostVars(h.ValPos(k), me, "it is a setting of")
			}
		}
	}
}

func stepValues(st *Step) []Pos {
	out := []Pos{st.ValPos("run"), st.ValPos("backout")}
	if u := st.Upload; u != nil {
		out = append(out, u.ValPos("src"), u.ValPos("to"))
	}
	for _, e := range st.Env {
		out = append(out, e.Pos)
	}
	return out
}

func checkValues(c *Check) []Pos {
	out := []Pos{c.ValPos("run")}
	if c.HTTP != nil {
		out = append(out, c.HTTP.ValPos("url"), c.HTTP.ValPos("contains"))
	}
	if c.TCP != nil {
		out = append(out, c.TCP.ValPos("address"))
	}
	out = append(out, c.ValPos("user"))
	if c.Package != nil {
		out = append(out, c.Package.ValPos("version"))
	}
	if c.Command != nil {
		out = append(out, c.Command.ValPos("version"))
	}
	if c.Disk != nil {
		out = append(out, c.Disk.ValPos("path"))
	}
	if f := c.File; f != nil {
		out = append(out, f.ValPos("path"), f.ValPos("owner"), f.ValPos("sha256"))
	}
	return out
}

// hostVars reports each host.vars.X of the string at pos that some of
// hosts lack. Conditions (when:) read a missing var as nil and are left
// alone.
func (v *validator) hostVars(pos Pos, hosts []*Target, where string) {
	for _, s := range v.p.sitesAt(pos) {
		if s.cond {
			continue
		}
		for _, r := range valueRefs(s.code) {
			if r.root != "host.vars" {
				continue
			}
			var lack []string
			for _, t := range hosts {
				if _, ok := t.Vars[r.name]; !ok {
					lack = append(lack, t.Name)
				}
			}
			if len(lack) == 0 {
				continue
			}
			v.errorf(s.pos, "host.vars.%s: %s no var %s, and %s %s: give %s, or write ${{ host.vars.%s ?? \"\" }} if empty is fine",
				r.name, hostsHave(lack), r.name, where, pronoun(lack), pronounVar(lack, r.name), r.name)
		}
	}
}

// noHost reports host.vars read in a value rendered once for the run.
func (v *validator) noHost(pos Pos, what string) {
	for _, s := range v.p.sitesAt(pos) {
		for _, r := range valueRefs(s.code) {
			if r.root == "host.vars" {
				v.errorf(s.pos, "host.vars.%s: %s is rendered once for the whole run, not for each host: there are no host vars to read here", r.name, what)
			}
		}
	}
}

func hostsHave(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("host %s has", names[0])
	}
	return fmt.Sprintf("hosts %s have", shortList(names))
}

func pronoun(names []string) string {
	if len(names) == 1 {
		return "on it"
	}
	return "on them"
}

func pronounVar(names []string, v string) string {
	if len(names) == 1 {
		return "the host the var " + v
	}
	return "the hosts the var " + v
}

func shortList(names []string) string {
	if len(names) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:5], ", "), len(names)-5)
	}
	return strings.Join(names, ", ")
}

// Given is what this shell gives a run: the controller's environment and
// the names of the secrets set (GOLIVE_SECRET_X, --secrets-file).
type Given struct {
	Env     map[string]string
	Secrets map[string]bool
	// Strict makes a missing secret or env.X an error, not a warning.
	Strict bool
}

// CheckGiven reports the secrets.X and env.X the plan's expressions read
// that are not set in g: `plan`, `review` and `run` would refuse them. They
// are warnings (the shell that runs the release may set them) unless
// g.Strict. A condition (when:) reads a missing env.X as nil; a value
// written X ?? "default" is never missing.
func CheckGiven(p *Plan, g Given) Diags {
	var out Diags
	add := func(pos Pos, format string, args ...any) {
		out = append(out, Diag{File: p.File, Pos: pos, Msg: fmt.Sprintf(format, args...), Warning: !g.Strict})
	}
	overridden := map[Pos]bool{} // a var set at run time is a value, never rendered
	for _, x := range p.Vars {
		if x.Overridden {
			overridden[x.Pos] = true
		}
	}
	for _, s := range p.exprs {
		if !renderedKeys[s.top] || overridden[s.node] {
			continue
		}
		for _, r := range valueRefs(s.code) {
			switch {
			case r.root == "secrets" && !g.Secrets[r.name]:
				add(s.pos, "secret %q is not set in this shell: plan, review and run refuse to start without it (export GOLIVE_SECRET_%s or pass --secrets-file)", r.name, r.name)
			case r.root == "env" && !s.cond:
				if _, ok := g.Env[r.name]; !ok {
					add(s.pos, "env.%s: %s is not set in this shell: plan, review and run refuse an unset env.X (set it, or write ${{ env.%s ?? \"\" }} if empty is fine)", r.name, r.name, r.name)
				}
			}
		}
	}
	return out
}

// renderedKeys are the top-level keys whose strings golive renders.
var renderedKeys = map[string]bool{"vars": true, "release": true, "targets": true, "preflight": true,
	"stages": true, "monitors": true, "verify": true, "notify": true}
