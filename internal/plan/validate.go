package plan

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/values"
)

// validator collects the problems of one decoded plan.
type validator struct {
	p       *Plan
	diags   Diags
	targets []*Target
	vars    map[string]bool
	inFile  string // while checking a step from an included file: that file
}

func (v *validator) errorf(p Pos, format string, args ...any) {
	v.diags = append(v.diags, Diag{File: v.fileName(), Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(p Pos, format string, args ...any) {
	v.diags = append(v.diags, Diag{File: v.fileName(), Pos: p, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// Validate checks a decoded plan against the rules of format 1 and returns
// every error and warning, unsorted.
func Validate(p *Plan) Diags {
	v := &validator{p: p, targets: p.ResolveTargets(), vars: map[string]bool{}}
	for _, x := range p.Vars {
		v.vars[x.Name] = true
	}
	v.header()
	v.checkVars()
	v.checkSettable()
	v.release()
	v.hosts()
	v.current()
	v.window()
	v.controls()
	for i := range p.Preflight {
		v.check(&p.Preflight[i], "preflight")
	}
	v.stages()
	v.monitors()
	for i := range p.Verify {
		v.check(&p.Verify[i], "verify")
	}
	v.notify()
	v.scripts()
	v.hostValues()
	return v.diags
}

func (v *validator) header() {
	p := v.p
	switch {
	case !p.Has("golive"):
		v.errorf(p.Pos, "missing \"golive: 1\": the format version is required")
	case p.Bad("golive"):
	case p.Golive != Version:
		v.errorf(p.ValPos("golive"), "unsupported format version %d: this golive reads format %d", p.Golive, Version)
	}
	switch {
	case !p.Has("name"):
		v.errorf(p.Pos, "missing \"name\": runs, locks and history are keyed by the plan's name")
	case !values.IsName(p.Name):
		v.errorf(p.ValPos("name"), "invalid plan name %q: use letters, digits, '.', '_' and '-'", p.Name)
	}
	for _, e := range p.Environments {
		if !values.IsName(e.Name) {
			v.errorf(e.Pos, "invalid environment name %s: use letters, digits, '.', '_' and '-', starting with a letter or digit", values.Quote(e.Name))
		}
	}
	if len(p.Stages) == 0 && !p.Bad("stages") {
		v.errorf(p.KeyPos("stages"), "a plan needs at least one stage")
	}
}

// checkVars reports vars that refer to themselves through other vars.
func (v *validator) checkVars() {
	refs := map[string][]string{}
	for _, x := range v.p.Vars {
		if !x.Overridden {
			refs[x.Name] = VarRefs(x.Value)
		}
	}
	for _, x := range v.p.Vars {
		if path := findCycle(x.Name, refs, nil); path != nil {
			v.errorf(x.Pos, "var %q refers to itself: %s", x.Name, strings.Join(path, " -> "))
		}
	}
}

func findCycle(start string, refs map[string][]string, path []string) []string {
	cur := start
	if len(path) > 0 {
		cur = path[len(path)-1]
	}
	if len(path) > len(refs) {
		return nil
	}
	for _, next := range refs[cur] {
		if next == start {
			return append(append([]string{start}, path...), start)
		}
		if contains(path, next) {
			continue
		}
		if c := findCycle(start, refs, append(path, next)); c != nil {
			return c
		}
	}
	return nil
}

var hexRe = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (v *validator) release() {
	for _, a := range v.p.Release.Artifacts {
		switch {
		case a.Path == "" && a.URL == "":
			v.errorf(a.Pos, "artifact %q needs a path or a url", a.Name)
		case a.Path != "" && a.URL != "":
			v.errorf(a.KeyPos("url"), "artifact %q has both path and url: give one", a.Name)
		}
		if a.SHA256 != "" && a.SHA256File != "" {
			v.errorf(a.KeyPos("sha256_file"), "artifact %q has both sha256 and sha256_file: give one", a.Name)
		}
		if a.SHA256 != "" && !HasExpr(a.SHA256) && !hexRe.MatchString(a.SHA256) {
			v.errorf(a.ValPos("sha256"), "artifact %q: sha256 must be 64 hex digits", a.Name)
		}
		if v.p.Controls.Integrity == "required" && a.SHA256 == "" && a.SHA256File == "" {
			v.errorf(a.Pos, "artifact %q has no sha256 or sha256_file, but controls.integrity is required", a.Name)
		}
	}
}

func (v *validator) hosts() {
	d := v.p.Targets.Defaults
	v.connection(&d.Meta, d.Connection)
	for _, h := range v.p.Targets.Hosts {
		v.connection(&h.Meta, h.Connection)
		if !values.IsName(h.Name) {
			v.errorf(h.Pos, "invalid host name %q: use letters, digits, '.', '_' and '-'", h.Name)
		}
		if h.Address != "" && !HasExpr(h.Address) {
			if err := values.Address("address", h.Address); err != nil {
				v.errorf(h.ValPos("address"), "host %q: %s", h.Name, err)
			}
		}
	}
	for _, t := range v.targets {
		if t.Transport == "ssh" && t.Address == "" {
			pos := t.Pos
			if h := v.planHost(t.Name); h != nil {
				pos = h.Pos
			}
			v.diags = append(v.diags, Diag{File: t.Source, Pos: pos, Msg: fmt.Sprintf("host %q uses ssh but has no address (set address:, or transport: local for a directory on this machine)", t.Name)})
		}
	}
}

func (v *validator) planHost(name string) *Host {
	for _, h := range v.p.Targets.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

func (v *validator) connection(m *Meta, c Connection) {
	if c.Transport != "" && c.Transport != "ssh" && c.Transport != "local" && !m.Bad("transport") {
		v.errorf(m.ValPos("transport"), "unknown transport %q: use ssh or local", c.Transport)
	}
	if m.Has("port") && (c.Port < 1 || c.Port > 65535) {
		v.errorf(m.ValPos("port"), "port %d is out of range 1-65535", c.Port)
	}
}

var hhmmRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

var weekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true}

func (v *validator) window() {
	w := v.p.Window
	if w == nil {
		return
	}
	loc := time.UTC
	if w.Timezone != "" {
		l, err := time.LoadLocation(w.Timezone)
		if err != nil || strings.EqualFold(w.Timezone, "local") {
			v.errorf(w.ValPos("timezone"), "unknown time zone %q: use an IANA name like Europe/Berlin or UTC", w.Timezone)
		} else {
			loc = l
		}
	}
	for _, r := range w.Open {
		if !r.Has("from") {
			v.errorf(r.Pos, "window.open range needs from (HH:MM)")
		} else if !hhmmRe.MatchString(r.From) {
			v.errorf(r.ValPos("from"), "invalid time %q: use HH:MM from 00:00 to 23:59", r.From)
		}
		if !r.Has("to") {
			v.errorf(r.Pos, "window.open range needs to (HH:MM)")
		} else if !hhmmRe.MatchString(r.To) && r.To != "24:00" {
			v.errorf(r.ValPos("to"), "invalid time %q: use HH:MM from 00:00 to 24:00", r.To)
		}
		for _, day := range r.Days {
			if !weekdays[strings.ToLower(day.Name)] {
				v.errorf(day.Pos, "unknown day %q: use mon, tue, wed, thu, fri, sat or sun", day.Name)
			}
		}
	}
	for _, f := range w.Freeze {
		from, errFrom := parseFreeze(f.From, loc)
		to, errTo := parseFreeze(f.To, loc)
		if errFrom != nil {
			v.errorf(f.ValPos("from"), "freeze from: %s", errFrom)
		}
		if errTo != nil {
			v.errorf(f.ValPos("to"), "freeze to: %s", errTo)
		}
		if errFrom == nil && errTo == nil && !to.After(from) {
			v.errorf(f.ValPos("to"), "freeze ends (%s) before it starts (%s)", f.To, f.From)
		}
	}
}

// ParseFreezeTime reads a freeze bound: YYYY-MM-DDTHH:MM[:SS] or YYYY-MM-DD
// as a wall time in loc.
func ParseFreezeTime(s string, loc *time.Location) (time.Time, error) { return parseFreeze(s, loc) }

func parseFreeze(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if s == "" {
		return time.Time{}, fmt.Errorf("missing time: use YYYY-MM-DDTHH:MM")
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use YYYY-MM-DDTHH:MM, like 2026-12-18T00:00", s)
}

func (v *validator) controls() {
	c := v.p.Controls
	if t := c.Ticket; t != nil && t.Pattern != "" {
		if _, err := regexp.Compile(t.Pattern); err != nil {
			v.errorf(t.ValPos("pattern"), "invalid ticket pattern: %s", err)
		}
	}
	if a := c.Approvals; a != nil {
		if a.Required < 0 {
			v.errorf(a.ValPos("required"), "approvals.required is negative")
		}
		for _, who := range a.Approvers {
			if err := values.Actor("approver", who); err != nil {
				v.warnf(a.ValPos("approvers"), "%s: this approver can never approve, since golive refuses such a name in --as and $GOLIVE_USER", err)
			}
		}
		if len(a.Approvers) > 0 && a.Required > len(a.Approvers) {
			v.errorf(a.ValPos("required"), "approvals.required is %d but only %d approvers are listed", a.Required, len(a.Approvers))
		}
	}
	if c.RehearsedIn != "" && len(v.p.Environments) > 0 && !contains(v.p.Environments.Names(), c.RehearsedIn) {
		v.errorf(c.ValPos("rehearsed_in"), "rehearsed_in names unknown environment %q: the plan has %s", c.RehearsedIn, quoteList(v.p.Environments.Names()))
	}
}

func (v *validator) notify() {
	for _, n := range v.p.Notify {
		if n.Webhook == "" {
			v.errorf(n.Pos, "notify needs a webhook")
		}
		for _, e := range n.On {
			if !contains(NotifyEvents, e) {
				v.errorf(n.ValPos("on"), "unknown notify event %q: use %s", e, strings.Join(NotifyEvents, ", "))
			}
		}
	}
}

func (v *validator) monitors() {
	for _, m := range v.p.Monitors {
		if m.Name == "" {
			v.errorf(m.Pos, "monitor needs a name")
		}
		if m.Prometheus == nil {
			v.errorf(m.Pos, "monitor %q needs prometheus: {url, query}", m.Name)
		} else {
			if m.Prometheus.URL == "" {
				v.errorf(m.Prometheus.Pos, "monitor %q: prometheus needs url", m.Name)
			}
			if m.Prometheus.Query == "" {
				v.errorf(m.Prometheus.Pos, "monitor %q: prometheus needs query", m.Name)
			}
		}
		v.monitorKind(&m)
		if m.Has("failure_limit") && m.FailureLimit < 1 {
			v.errorf(m.ValPos("failure_limit"), "failure_limit must be 1 or more")
		}
	}
}
