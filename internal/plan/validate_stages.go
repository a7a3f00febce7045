package plan

import (
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/values"
)

func (v *validator) stages() {
	seen := map[string]Pos{}
	for i := range v.p.Stages {
		s := &v.p.Stages[i]
		if !s.Has("name") {
			v.errorf(s.Pos, "stage needs a name")
		} else if first, dup := seen[s.Name]; dup {
			v.errorf(s.ValPos("name"), "duplicate stage name %q (first at line %d)", s.Name, first.Line)
		} else {
			seen[s.Name] = s.ValPos("name")
		}
		hosts := v.selectTargets(&s.Meta, s.On, fmt.Sprintf("stage %q", s.Name), false)
		if s.Gate != nil && s.Gate.Approvals < 1 {
			v.errorf(s.Gate.ValPos("approvals"), "gate.approvals must be 1 or more")
		}
		v.strategy(s, len(hosts))
		if len(s.Steps) == 0 && !s.Bad("steps") {
			v.errorf(s.KeyPos("steps"), "stage %q has no steps", s.Name)
		}
		steps := map[string]Pos{}
		for j := range s.Steps {
			v.inFile = s.Steps[j].File
			v.step(s, &s.Steps[j], steps)
			v.inFile = ""
		}
		v.prepareFirst(s)
		if len(s.Health) == 0 && s.Has("name") {
			v.warnf(s.ValPos("name"), "stage %q has no health checks: a host counts as done as soon as its steps exit 0", s.Name)
		}
		for j := range s.Health {
			v.check(&s.Health[j], "health")
		}
	}
}

func (v *validator) strategy(s *Stage, hosts int) {
	st := &s.Strategy
	if st.Batch != nil && !st.Bad("batch") && st.Batch.Percent == 0 && st.Batch.N == 0 {
		v.errorf(st.Batch.Pos, "batch must be at least 1 host or 1%%")
	}
	if mf := st.MaxFailed; mf != nil && hosts > 0 && 2*mf.OfDown(hosts) > hosts {
		v.warnf(mf.Pos, "max_failed %s lets more than half of stage %q's %d hosts fail", mf, s.Name, hosts)
	}
	if c := st.Canary; c != nil && hosts > 0 && c.N > hosts {
		v.warnf(c.Pos, "canary %d is larger than stage %q's %d hosts", c.N, s.Name, hosts)
	}
}

func (v *validator) step(s *Stage, st *Step, seen map[string]Pos) {
	if !st.Has("name") {
		v.errorf(st.Pos, "step in stage %q needs a name", s.Name)
	} else if first, dup := seen[st.Name]; dup {
		v.errorf(st.ValPos("name"), "duplicate step name %q in stage %q (first at line %d)", st.Name, s.Name, first.Line)
	} else {
		seen[st.Name] = st.ValPos("name")
	}
	actions := 0
	for _, k := range []string{"run", "upload"} {
		if st.Has(k) {
			actions++
		}
	}
	switch actions {
	case 0:
		v.errorf(st.Pos, "step %q has no action: give run or upload", st.Name)
	case 2:
		v.errorf(st.KeyPos("upload"), "step %q has two actions (run and upload): give one per step", st.Name)
	}
	if st.Retries < 0 {
		v.errorf(st.ValPos("retries"), "retries %d is negative", st.Retries)
	}
	if u := st.Upload; u != nil {
		v.upload(st, u)
	}
	if st.ChangesTarget() && actions > 0 && st.Backout == "" {
		if v.p.Controls.Backout == "required" {
			v.errorf(st.Pos, "step %q changes its targets but has no backout, and controls.backout is required", st.Name)
		} else {
			v.warnf(st.Pos, "step %q changes its targets but has no backout: a failed release cannot undo it", st.Name)
		}
	}
}

// prepareFirst reports a prepare step that follows a step that is not
// one: preparing ahead runs a prefix of the steps.
func (v *validator) prepareFirst(s *Stage) {
	var first *Step // the first step that is not a prepare step
	for j := range s.Steps {
		st := &s.Steps[j]
		switch {
		case !st.Prepare && first == nil:
			first = st
		case st.Prepare && first != nil:
			v.errorf(st.ValPos("prepare"), "step %q is prepare: true but follows step %q (line %d), which is not: prepare steps come first in a stage", st.Name, first.Name, first.Pos.Line)
		}
	}
}

func (v *validator) upload(st *Step, u *Upload) {
	switch {
	case u.Artifact == "" && u.Src == "":
		v.errorf(u.Pos, "upload in step %q needs artifact or src", st.Name)
	case u.Artifact != "" && u.Src != "":
		v.errorf(u.KeyPos("src"), "upload in step %q has both artifact and src: give one", st.Name)
	case u.Artifact != "" && v.p.Release.Artifacts.Get(u.Artifact) == nil:
		v.errorf(u.ValPos("artifact"), "upload names unknown artifact %q: the plan's artifacts are %s", u.Artifact, quoteList(artifactNames(v.p)))
	}
	if u.To == "" {
		v.errorf(u.Pos, "upload in step %q needs to: (the destination path)", st.Name)
	} else if err := values.NoControl("upload.to", u.To); err != nil {
		v.errorf(u.ValPos("to"), "step %q: %s", st.Name, err)
	}
}

func artifactNames(p *Plan) []string {
	var out []string
	for _, a := range p.Release.Artifacts {
		out = append(out, a.Name)
	}
	return out
}

func (v *validator) check(c *Check, kind string) {
	label := kind + " check"
	if c.Name != "" {
		label = fmt.Sprintf("%s check %q", kind, c.Name)
	}
	actions := 0
	for _, k := range append([]string{"run", "http", "tcp", "confirm"}, FactKinds...) {
		if c.Has(k) {
			actions++
		}
	}
	switch {
	case actions == 0:
		v.errorf(c.Pos, "%s has nothing to check: give run, http or tcp%s", label, factHint(kind))
	case actions > 1:
		v.errorf(c.Pos, "%s gives %d kinds of check: give one of run, http, tcp%s", label, actions, factHint(kind))
	}
	v.fact(c, kind, label)
	if c.Has("confirm") && kind != "verify" {
		v.errorf(c.KeyPos("confirm"), "confirm is a sign-off and belongs in verify, not %s", kind)
	}
	if cf := c.Confirm; cf != nil && cf.Approvals < 1 {
		v.errorf(cf.Pos, "confirm needs approvals: 1 or more")
	}
	if h := c.HTTP; h != nil {
		if h.URL == "" {
			v.errorf(h.Pos, "%s: http needs url", label)
		}
		if h.Has("status") && (h.Status < 100 || h.Status > 599) {
			v.errorf(h.ValPos("status"), "%s: status %d is not an HTTP status code", label, h.Status)
		}
	}
	if t := c.TCP; t != nil && t.Address == "" {
		v.errorf(t.Pos, "%s: tcp needs address (host:port)", label)
	}
	if kind == "health" {
		if c.Has("on") {
			v.errorf(c.KeyPos("on"), "%s: health checks run on each host of their stage; remove on:", label)
		}
		return
	}
	if c.Has("on") {
		v.selectTargets(&c.Meta, c.On, label, true)
	}
}

// selectTargets checks an on: and returns the targets it selects.
func (v *validator) selectTargets(m *Meta, on On, what string, allowLocal bool) []*Target {
	if m.Bad("on") {
		return nil
	}
	if !m.Has("on") {
		if !allowLocal {
			v.errorf(m.Pos, "%s needs on: (a role, a host, a list of them, or all)", what)
		}
		return nil
	}
	hosts, unknown := Select(v.targets, on)
	for _, ref := range unknown {
		v.errorf(ref.Pos, "on: no host or role named %q (roles: %s)", ref.Name, joinOrNone(Roles(v.targets)))
	}
	for _, ref := range on {
		switch {
		case ref.Name != "local":
		case hasTarget(v.targets, "local"):
			// a host or role (an inventory group) named local: on: selects it
			if allowLocal {
				v.warnf(ref.Pos, "%s: on: local selects the host or role named local, not the controller; use local: true to run on the controller", what)
			}
		case !allowLocal:
			v.errorf(ref.Pos, "%s: stages run on targets; use local: true on a step to run it on the controller", what)
		}
	}
	return hosts
}

func joinOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// hasTarget reports whether a target or a role has this name.
func hasTarget(targets []*Target, name string) bool {
	for _, t := range targets {
		if t.Name == name || contains(t.Roles, name) {
			return true
		}
	}
	return false
}
