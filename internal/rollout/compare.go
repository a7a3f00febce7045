package rollout

import "github.com/golive-dev/golive/internal/plan"

// Compare is a monitor's comparison of the current batch with a baseline.
type Compare struct {
	Baseline   string  `json:"baseline"`
	MaxRatio   float64 `json:"max_ratio"`
	MinSamples int     `json:"min_samples"`
}

// compareMonitor fills rm's comparison from m and returns the scope its
// query renders in: for a compare monitor, base with hosts.regex and
// hosts.names_regex left as markers for each evaluation to fill.
func compareMonitor(rm *Monitor, m *plan.Monitor, base *plan.Scope) *plan.Scope {
	if m.Compare == nil {
		return base
	}
	rm.Compare = &Compare{Baseline: m.Compare.Baseline, MaxRatio: float64(m.Compare.MaxRatio), MinSamples: max(m.Compare.MinSamples, 1)}
	rm.InconclusiveLimit = m.InconclusiveLimit
	if rm.InconclusiveLimit < 1 {
		// A batch's first min_samples-1 evaluations have too few samples.
		rm.InconclusiveLimit = max(plan.DefaultInconclusiveLimit, rm.Compare.MinSamples)
	}
	s := *base
	s.Hosts = plan.HostsMarkers()
	return &s
}

// AllHosts returns every host of the rollout once (the first time it
// appears), in stage and batch order.
func (r *Rollout) AllHosts() []*Host {
	seen := map[string]bool{}
	var out []*Host
	for _, s := range r.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				if !seen[h.Name] {
					seen[h.Name] = true
					out = append(out, h)
				}
			}
		}
	}
	return out
}
