package server

import (
	"context"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// startWaiting starts, every period, the waiting runs of the plans
// whose window is open and whose approvals are in (however they were
// given: over the API or at a terminal), as their requester; Resume
// reviews each again first. The runs are found in the stores, so a
// restarted server picks up the runs that waited before.
func (s *Server) startWaiting(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		for _, p := range s.Plans() {
			runs, err := s.svc.Runs(ctx, release.RunsOptions{Plan: release.PlanInput{File: p.File}, States: []store.State{store.StateWaiting}})
			if err != nil {
				continue
			}
			for _, r := range runs {
				if r.Plan != p.Name || s.runs.busy(r.ID) {
					continue
				}
				ok, _, err := s.svc.Ready(ctx, release.RunRef{Plan: release.PlanInput{File: p.File}, ID: r.ID})
				if err != nil {
					s.log.Debug("waiting run not checked", "run", r.ID, "err", err)
					continue
				}
				if ok {
					s.log.Info("starting a waiting run: its window is open and its approvals are in", "run", r.ID)
					s.continueRun(p, r.ID, r.Env, r.RequesterIdentity())
				}
			}
		}
	}
}
