package rollout

import (
	"fmt"
	"strconv"

	"github.com/golive-dev/golive/internal/plan"
)

// KindFact is the kind of a preflight check that is a built-in fact probe.
const KindFact = "fact"

// Fact is a fact probe rendered for one target. Which fields are used
// depends on Kind (package, command, service, port, disk, memory, user,
// file).
type Fact struct {
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`    // package, command, service, user
	Version string `json:"version,omitempty"` // package, command: a constraint like ">= 1.22"
	State   string `json:"state,omitempty"`   // service: running|stopped; port: free|listening
	Port    int    `json:"port,omitempty"`
	Path    string `json:"path,omitempty"`  // disk, file
	Bytes   int64  `json:"bytes,omitempty"` // disk: free; memory: available
	Exists  bool   `json:"exists,omitempty"`
	Mode    string `json:"mode,omitempty"` // file: octal, like "0640"
	Owner   string `json:"owner,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// CurrentProbe is targets.current rendered for one host.
type CurrentProbe struct {
	Host *Host  `json:"host"`
	Run  string `json:"run"`
}

// buildFacts renders the fact probes among the plan's preflight checks
// (into r.Facts) and targets.current for every host of a stage (into
// r.Current).
func buildFacts(r *Rollout, p *plan.Plan, targets []*plan.Target, base *plan.Scope) error {
	for i := range p.Preflight {
		pc := &p.Preflight[i]
		if pc.FactKind() == "" {
			continue
		}
		c, err := renderFactCheck(pc, base)
		onTargets := !pc.Local && len(pc.On) > 0
		if err != nil && !onTargets {
			return fmt.Errorf("preflight %q: %w", c.Name, err)
		}
		if onTargets {
			sel, _ := plan.Select(targets, pc.On)
			for _, t := range sel {
				scope := HostScope(base, t, "", 0)
				rc, err := renderFactCheck(pc, scope)
				if err != nil {
					return fmt.Errorf("preflight %q: host %s: %w", c.Name, t.Name, err)
				}
				h, err := newHost(t, scope)
				if err != nil {
					return fmt.Errorf("preflight %q: %w", c.Name, err)
				}
				c.Targets = append(c.Targets, h)
				c.PerTarget = append(c.PerTarget, rc)
			}
		}
		if err != nil { // host.vars: the run's rendering shows the first target's
			if len(c.PerTarget) == 0 {
				return fmt.Errorf("preflight %q: %w", c.Name, err)
			}
			shown := *c.PerTarget[0]
			shown.Targets, shown.PerTarget = c.Targets, c.PerTarget
			c = &shown
		}
		r.Facts = append(r.Facts, c)
	}
	if p.Targets.Current == nil {
		return nil
	}
	seen := map[string]bool{}
	for i := range p.Stages {
		hosts, _ := plan.Select(targets, p.Stages[i].On)
		for _, t := range hosts {
			if seen[t.Name] {
				continue
			}
			seen[t.Name] = true
			scope := HostScope(base, t, "", 0)
			run, err := plan.Render(p.Targets.Current.Run, scope)
			if err != nil {
				return fmt.Errorf("targets.current: host %s: %w", t.Name, err)
			}
			h, err := newHost(t, scope)
			if err != nil {
				return err
			}
			r.Current = append(r.Current, &CurrentProbe{Host: h, Run: run})
		}
	}
	return nil
}

// IsFact reports whether a preflight check is a fact probe.
func IsFact(pc *plan.Check) bool { return pc.FactKind() != "" }

func renderFactCheck(pc *plan.Check, scope *plan.Scope) (*Check, error) {
	c := &Check{Name: pc.Name, Kind: KindFact, Timeout: pc.Timeout.Or(DefaultCheckTimeout), On: pc.On.Names(), Local: pc.Local}
	var err error
	r := func(s string) string {
		if err != nil {
			return ""
		}
		var out string
		out, err = plan.Render(s, scope)
		return out
	}
	f := &Fact{Kind: pc.FactKind()}
	switch f.Kind {
	case "package":
		f.Name, f.Version = pc.Package.Name, r(pc.Package.Version)
	case "command":
		f.Name, f.Version = pc.Command.Name, r(pc.Command.Version)
	case "service":
		f.Name, f.State = pc.Service.Name, pc.Service.State
		if f.State == "" {
			f.State = "running"
		}
	case "port":
		f.Port, f.State = pc.Port.Number, pc.Port.State
	case "disk":
		f.Path, f.Bytes = r(pc.Disk.Path), pc.Disk.Free.N
	case "memory":
		f.Bytes = pc.Memory.Available.N
	case "user":
		f.Name = r(pc.User)
	case "file":
		ff := pc.File
		f.Path, f.Exists, f.Owner, f.SHA256 = r(ff.Path), ff.MustExist(), r(ff.Owner), r(ff.SHA256)
		if ff.Mode.Set {
			f.Mode = "0" + strconv.FormatUint(uint64(ff.Mode.Mode), 8)
		}
	}
	c.Fact = f
	if c.Name == "" {
		c.Name = FactLabel(f)
	}
	return c, err
}

// FactLabel names a fact for a person: "package nginx", "port 8081",
// "disk /srv".
func FactLabel(f *Fact) string {
	switch f.Kind {
	case "port":
		return fmt.Sprintf("port %d", f.Port)
	case "disk", "file":
		return f.Kind + " " + f.Path
	case "memory":
		return "memory"
	}
	return f.Kind + " " + f.Name
}
