package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// A backout is done when the previous release is healthy again, not when
// its scripts exit 0. Once every backout of a host has run, the health
// checks of each stage it was backed out in run again, rendered for the
// release being restored (rollout.Host.Restore), each with its own
// timeout and interval: a service a backout restarts in the background is
// waited for. The verdict is journaled per stage and host (KindHost):
const (
	// ActionBackoutVerified: the restored release passed its health
	// checks. Message: "verified healthy at VERSION".
	ActionBackoutVerified store.Action = "backout_verified"
	// ActionBackoutUnhealthy: a health check of the restored release did
	// not pass; the host needs attention and a later `golive backout`
	// verifies it again. Message: "NOT healthy at VERSION: <check>".
	ActionBackoutUnhealthy store.Action = "backout_unhealthy"
	// ActionBackoutUnverified: nothing to verify (a first release, a
	// stage without health checks) or backout.verify: false. Message:
	// "not verified: <why>".
	ActionBackoutUnverified store.Action = "backout_unverified"
)

// toVerify returns, per host, the stages (in the order of stages) that
// the host was backed out in and whose backout is not verified yet. A
// host with any backout still to do in any stage is left out: it is not
// back on the previous release, so there is nothing to verify yet.
func (h *history) toVerify(stages []string) map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	pending := map[string]bool{}
	touched := map[hostKey]bool{}
	for _, k := range h.started {
		touched[hostKey{k.stage, k.host}] = true
		if !h.backedOut[k] {
			pending[k.host] = true
		}
	}
	out := map[string][]string{}
	for _, stage := range stages {
		for hk := range touched {
			if hk.stage == stage && !pending[hk.host] && !h.restored[hk] {
				out[hk.host] = append(out[hk.host], stage)
			}
		}
	}
	return out
}

// verifyBackout checks, on every host backed out completely, that the
// release restored there is healthy. It returns one attention line per
// host that is not.
func (x *execution) verifyBackout(ctx context.Context) []string {
	if x.lostLock() {
		return nil // another controller owns the run now
	}
	var order []string
	for _, s := range x.ro.Stages {
		order = append(order, s.Name)
	}
	work := x.hist.toVerify(order)
	if len(work) == 0 {
		return nil
	}
	hosts := make([]string, 0, len(work))
	for h := range work {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	why := ""
	switch {
	case x.ro.Previous == "":
		why = "first release: no release was live before it, so there is nothing to verify"
	case !x.ro.VerifyBackout:
		why = "backout.verify is false: the backout scripts exited 0, the previous release's health was not checked"
	}
	if why != "" {
		x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionBackoutUnverified, Message: "backouts not verified: " + why})
		for _, host := range hosts {
			for _, stage := range work[host] {
				x.journal(ctx, store.Event{Kind: store.KindHost, Action: ActionBackoutUnverified, Stage: stage, Host: host, Message: "not verified: " + why})
			}
		}
		return nil
	}
	var mu sync.Mutex
	var attention []string
	g := errgroup.Group{}
	g.SetLimit(x.e.o.Parallel)
	for _, host := range hosts {
		g.Go(func() error {
			if a := x.verifyHost(ctx, host, work[host]); a != "" {
				mu.Lock()
				attention = append(attention, a)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return attention
}

// verifyHost runs the restored release's health checks of host in each
// of stages, stopping at the first that does not pass.
func (x *execution) verifyHost(ctx context.Context, host string, stages []string) (attention string) {
	prev := x.ro.Previous
	for _, stage := range stages {
		h, s := x.findHost(stage, host)
		if h == nil || x.lostLock() {
			continue // not in the plan (its backout needs attention already), or not ours any more
		}
		ev := store.Event{Kind: store.KindHost, Stage: stage, Host: host}
		if len(h.Restore) == 0 {
			ev.Action, ev.Message = ActionBackoutUnverified, fmt.Sprintf("not verified: stage %s has no health checks", stage)
			x.journal(ctx, ev)
			continue
		}
		for _, c := range h.Restore {
			if err := x.restoreCheck(ctx, s, h, c); err != nil {
				if ctx.Err() != nil {
					// No verdict: the next backout of the run verifies it.
					return fmt.Sprintf("%s: backed out in stage %s, but the check of release %s was interrupted: %v", host, stage, prev, context.Cause(ctx))
				}
				ev.Action, ev.Message = ActionBackoutUnhealthy, fmt.Sprintf("NOT healthy at %s: %v", prev, err)
				x.journal(ctx, ev)
				return fmt.Sprintf("%s: backed out in stage %s, but release %s is not healthy on it: %v", host, stage, prev, err)
			}
		}
		ev.Action, ev.Message = ActionBackoutVerified, "verified healthy at "+prev
		x.journal(ctx, ev)
	}
	return ""
}

// restoreCheck runs one health check of the restored release on h until
// it passes or times out, journaled like any check.
func (x *execution) restoreCheck(ctx context.Context, s *rollout.Stage, h *rollout.Host, c *rollout.Check) error {
	what := fmt.Sprintf("release %s, after the backout", x.ro.Previous)
	ev := store.Event{Kind: store.KindCheck, Action: store.ActionStarted, Stage: s.Name, Host: h.Name, Step: c.Name, Message: what}
	x.journal(ctx, ev)
	var conn transport.Conn
	if c.Kind == check.KindRun {
		var err error
		if c.Local {
			conn, err = x.localConn(ctx)
		} else {
			conn, err = x.conn(ctx, h)
		}
		if err != nil {
			ev.Action, ev.Message = store.ActionFailed, err.Error()
			x.journal(ctx, ev)
			return &CheckError{Check: c.Name, Host: h.Name, Detail: err.Error()}
		}
	}
	env := map[string]string{"GOLIVE_RELEASE": x.ro.Previous, "GOLIVE_PREVIOUS": x.ro.Release, "GOLIVE_RUN_ID": x.run.ID,
		"GOLIVE_STAGE": s.Name, "GOLIVE_HOST": h.Name, "GOLIVE_ADDRESS": h.Address}
	res := x.e.checker.Until(ctx, c, conn, env)
	ev.Duration, ev.Output, ev.Message = res.Duration, res.Output, what
	if res.Detail != "" {
		ev.Message += ": " + res.Detail
	}
	ev.Action = store.ActionPassed
	if !res.OK {
		ev.Action = store.ActionFailed
		if ctx.Err() != nil {
			ev.Action = store.ActionTerminated
		}
	}
	x.journal(ctx, ev)
	if !res.OK {
		return &CheckError{Check: c.Name, Host: h.Name, Detail: res.Detail}
	}
	return nil
}

// lostLock reports whether the heartbeat found another controller owns
// the run now.
func (x *execution) lostLock() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.lockLost
}
