package rollout

import (
	"fmt"

	"github.com/golive-dev/golive/internal/plan"
)

// RestoreInput is the input of the rendering a backout verifies against:
// the release being restored is in.Previous, and what was live before it
// was restored is the release being backed out.
func RestoreInput(in Input) Input {
	in.Release, in.Previous = in.Previous, in.Release
	return in
}

// buildRestore renders, for every host of every stage, the stage's health
// checks for the release a backout restores (Host.Restore). Nothing is
// rendered on a first release (nothing to restore) or when the plan opts
// out with backout.verify: false.
func buildRestore(r *Rollout, in Input, targets []*plan.Target) error {
	if in.Previous == "" || !r.VerifyBackout {
		return nil
	}
	base, err := baseScope(RestoreInput(in))
	if err != nil {
		return fmt.Errorf("rendering for the previous release %s: %w", in.Previous, err)
	}
	byName := map[string]*plan.Target{}
	for _, t := range targets {
		byName[t.Name] = t
	}
	for i, s := range r.Stages {
		ps := &in.Plan.Stages[i]
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				t := byName[h.Name]
				if t == nil {
					continue
				}
				scope := HostScope(base, t, ps.Name, b.Index)
				for j := range ps.Health {
					c, err := renderCheck(&ps.Health[j], scope)
					if err != nil {
						return fmt.Errorf("stage %q host %q: health %q for the previous release %s: %w", ps.Name, h.Name, ps.Health[j].Name, in.Previous, err)
					}
					h.Restore = append(h.Restore, c)
				}
			}
		}
	}
	return nil
}
