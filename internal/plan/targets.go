package plan

import (
	"sort"
)

// Target is a host with its connection settings resolved: the plan's
// targets.defaults, then the host's own settings.
type Target struct {
	Name    string
	Address string
	Roles   []string
	Vars    map[string]string
	Connection
	// Source is where the host was defined: the plan file or an inventory.
	Source string
	Pos    Pos
}

// DefaultTransport is the transport of a target that names none.
const DefaultTransport = "ssh"

// ResolveTargets returns every target of the plan in definition order:
// inventory hosts first, then the plan's hosts. A plan host with the same
// name as an inventory host extends it: its settings win and roles add up.
func (p *Plan) ResolveTargets() []*Target {
	var out []*Target
	byName := map[string]*Target{}
	add := func(h *Host, source string) {
		t := byName[h.Name]
		if t == nil {
			t = &Target{Name: h.Name, Vars: map[string]string{}, Connection: p.Targets.Defaults.Connection, Source: source, Pos: h.Pos}
			byName[h.Name] = t
			out = append(out, t)
		}
		if h.Address != "" {
			t.Address = h.Address
		}
		t.Roles = unionSorted(t.Roles, h.Roles)
		for _, v := range h.Vars {
			t.Vars[v.Name] = v.Value
		}
		overlayConnection(&t.Connection, h.Connection)
	}
	for _, h := range p.InventoryHosts {
		add(h, h.FromInventory)
	}
	for _, h := range p.Targets.Hosts {
		add(h, p.File)
	}
	for _, t := range out {
		if t.Transport == "" {
			t.Transport = DefaultTransport
		}
		if t.Transport == "ssh" && t.Port == 0 {
			t.Port = 22
		}
	}
	return out
}

func overlayConnection(dst *Connection, src Connection) {
	if src.Transport != "" {
		dst.Transport = src.Transport
	}
	if src.User != "" {
		dst.User = src.User
	}
	if src.Port != 0 {
		dst.Port = src.Port
	}
	if src.IdentityFile != "" {
		dst.IdentityFile = src.IdentityFile
	}
	if src.KnownHosts != "" {
		dst.KnownHosts = src.KnownHosts
	}
	if src.Jump != "" {
		dst.Jump = src.Jump
	}
	if src.Dir != "" {
		dst.Dir = src.Dir
	}
}

func unionSorted(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Select returns the targets an on: selects, in target order, and the
// names that matched nothing. "all" selects every target; "local" selects
// a host or role named local (an inventory group may be) and otherwise is
// not a target and is left to the caller.
func Select(targets []*Target, on On) (selected []*Target, unknown []Ref) {
	picked := map[string]bool{}
	for _, ref := range on {
		matched := false
		for _, t := range targets {
			if ref.Name == "all" || t.Name == ref.Name || contains(t.Roles, ref.Name) {
				picked[t.Name] = true
				matched = true
			}
		}
		if !matched && ref.Name != "local" && ref.Name != "all" {
			unknown = append(unknown, ref)
		}
	}
	for _, t := range targets {
		if picked[t.Name] {
			selected = append(selected, t)
		}
	}
	return selected, unknown
}

// Roles returns every role of the targets, sorted.
func Roles(targets []*Target) []string {
	var all []string
	for _, t := range targets {
		all = unionSorted(all, t.Roles)
	}
	return all
}

// GateApprovals is how many approvals a gate needs: "" (the run) per
// controls.approvals, "stage:NAME" per that stage's gate, "verify" per the
// confirm sign-off.
func (p *Plan) GateApprovals(gate string) int {
	switch {
	case gate == "":
		if p.Controls.Approvals != nil {
			return p.Controls.Approvals.Required
		}
	case gate == "verify":
		for _, v := range p.Verify {
			if v.Confirm != nil {
				return v.Confirm.Approvals
			}
		}
	case len(gate) > 6 && gate[:6] == "stage:":
		for _, s := range p.Stages {
			if s.Name == gate[6:] && s.Gate != nil {
				return s.Gate.Approvals
			}
		}
	}
	return 0
}
