package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// Takeover (docs/server.md, "High availability"): every server watches
// the leases of the runs it can execute (it has their plan) that are
// being executed: running, verifying or backing out (and see below). When a lease
// expired (its executor was killed, paused, or cut off from the store),
// the server takes the run over with AcquireLease, which only one server
// wins (expiry checked and epoch bumped in one transaction), journals
// the takeover with both holders, and does what the plan's
// controls.takeover says:
//
//   - resume (the default): the run goes on from its journal, in this
//     server, under the lease it took;
//   - backout: what the run changed is backed out;
//   - pause: the run is left paused for people to decide (`golive
//     resume` or `golive backout`), and the lease is let go.
//
// A run that was backing out goes on backing out whatever the mode: a
// backout is what gives the targets back. A run a stopping server left
// paused at a journal point (SIGTERM: runner.park), whose lease it let
// go, is taken over the same way, unless the mode is pause; so is a run
// that failed and whose automatic backout had not started (it is backed
// out). The new epoch fences the old executor: should it wake up, every
// write it tries is refused and it stops without touching a host.

// ActionTakenOver is the journal event of a takeover (KindRun).
const ActionTakenOver store.Action = "taken_over"

// takeovers remembers the runs this server took over but could not
// continue (the plan changed since the run started, say), and those it
// leaves to people: it does not take them again while their lease epoch
// is the one it saw.
type takeovers struct {
	mu      sync.Mutex
	failed  map[string]int64 // run id -> epoch taken
	counter prometheus.Counter
}

// register adds golive_takeovers_total to the server's metrics.
func (t *takeovers) register(reg *prometheus.Registry) {
	t.counter = prometheus.NewCounter(prometheus.CounterOpts{Name: "golive_takeovers_total",
		Help: "Runs this server took over from an executor whose lease expired."})
	reg.MustRegister(t.counter)
}

func (t *takeovers) gaveUp(id string, epoch int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.failed[id]
	return ok && e == epoch
}

func (t *takeovers) giveUp(id string, epoch int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = map[string]int64{}
	}
	t.failed[id] = epoch
}

// leaseSettings are the heartbeat (how often leases are renewed and
// watched) and the lease TTL runs execute with here.
func (s *Server) leaseSettings() (heartbeat, ttl time.Duration) {
	heartbeat, ttl = s.svc.Heartbeat, s.svc.LeaseTTL
	if heartbeat <= 0 {
		heartbeat = 5 * time.Second
	}
	if ttl <= 0 {
		ttl = store.HeartbeatTimeout
	}
	return heartbeat, ttl
}

// watchLeases looks, every heartbeat, for runs whose lease expired and
// takes them over.
func (s *Server) watchLeases(ctx context.Context) {
	every, _ := s.leaseSettings()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		for _, p := range s.Plans() {
			s.takeOverExpired(ctx, p)
		}
	}
}

// watched are the states of the runs whose lease is watched: those some
// controller works on; paused (only those a stopping server left); failed
// (only those whose automatic backout had not started).
var watched = []store.State{store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StatePaused, store.StateFailed}

// takeOverExpired takes over the runs of plan p whose lease expired.
func (s *Server) takeOverExpired(ctx context.Context, p *Plan) {
	st, err := s.svc.OpenStore(ctx, p.File, release.StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return // no store yet: no runs
	}
	defer st.Close()
	runs, err := st.ListRuns(ctx, store.RunFilter{Plan: p.Name, States: watched})
	if err != nil {
		s.log.Debug("takeover: runs not listed", "plan", p.Name, "err", err)
		return
	}
	for _, r := range runs {
		switch {
		case s.runs.busy(r.ID):
			continue
		case r.State == store.StatePaused && !strings.HasPrefix(r.Reason, stoppedPause):
			continue // paused for people (a gate, controls.takeover: pause) stays paused
		case r.State == store.StateFailed && strings.Contains(r.Reason, engine.NoBackoutMark):
			continue // stopped without a backout on purpose: people decide
		}
		l, err := st.GetLease(ctx, r.ID)
		if err != nil || l.Epoch == 0 || !l.Expired(time.Now()) || s.taken.gaveUp(r.ID, l.Epoch) {
			continue // never leased (an older golive: `golive resume`), or its executor lives
		}
		s.takeOver(ctx, p, r, l)
	}
}

// takeOver takes the expired lease l of run r (nothing when another
// server won it, or its executor renewed it) and continues the run as
// controls.takeover says.
func (s *Server) takeOver(ctx context.Context, p *Plan, r store.Run, l store.Lease) {
	mode, autoBackout, err := takeoverMode(p.File, r.Env)
	if err != nil {
		s.log.Error("takeover: the plan does not load; run left to its lease", "run", r.ID, "err", err)
		return
	}
	what := fmt.Sprintf("stopped renewing its lease, which expired at %s", l.Expires.UTC().Format(time.RFC3339Nano))
	switch {
	case r.State == store.StateBackingOut:
		mode = plan.TakeoverBackout
	case r.State == store.StatePaused && mode == plan.TakeoverPause,
		r.State == store.StateFailed && !autoBackout:
		// Left paused by a stopping server, or failed with backout.automatic
		// false: it stays as it is for people.
		s.taken.giveUp(r.ID, l.Epoch)
		return
	case r.State == store.StatePaused:
		what = "stopped and left the run paused at a journal point"
	case r.State == store.StateFailed:
		// Its executor died between failing the run and backing it out:
		// resume does that backout (engine.Resume).
		mode = plan.TakeoverResume
		what = "stopped after the run failed, before its automatic backout started (it is done here)"
	}
	if !s.runs.begin() { // stopping: the next server takes it
		return
	}
	defer s.runs.end()
	if !s.runs.track(r.ID, p, r.Env, r.State) {
		return
	}
	tracked := true
	defer func() {
		if tracked {
			s.runs.untrack(r.ID)
		}
	}()
	st, err := s.svc.OpenStore(ctx, p.File, release.StoreMode{Existing: true})
	if err != nil {
		s.log.Error("takeover: store not opened", "run", r.ID, "err", err)
		return
	}
	defer st.Close()
	_, ttl := s.leaseSettings()
	// AcquireLease, not StealLease: it takes the lease only if it is
	// still expired in the taking transaction, so that of several servers
	// one wins, and an executor that renewed its lease in the meantime
	// (back from a pause or a partition) keeps its run.
	won, err := st.AcquireLease(ctx, r.ID, engine.LeaseHolder(store.ThisHolder()), ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		s.log.Info("takeover: another controller took the run first", "run", r.ID, "err", err)
		return
	}
	if err != nil {
		s.log.Error("takeover: lease not taken", "run", r.ID, "err", err)
		return
	}
	fenced := store.WithLease(ctx, won)
	msg := fmt.Sprintf("taken over: %s (lease epoch %d) %s; now executed by %s (epoch %d); controls.takeover: %s",
		l.Holder, l.Epoch, what, won.Holder, won.Epoch, mode)
	if _, err := st.AppendEvent(fenced, store.Event{RunID: r.ID, Kind: store.KindRun, Action: ActionTakenOver, Message: msg}); err != nil {
		s.log.Error("takeover: not journaled; run left to its lease", "run", r.ID, "err", err)
		return
	}
	s.log.Warn("run taken over", "run", r.ID, "from", l.Holder, "epoch", won.Epoch, "mode", mode)
	s.taken.counter.Inc()
	if mode == plan.TakeoverPause {
		s.pauseTaken(fenced, st, r, won)
		return
	}
	// The run goes on in its own goroutine, tracked there.
	s.runs.untrack(r.ID)
	tracked = false
	s.continueTaken(p, r, won, mode)
}

// continueTaken resumes or backs out run r, taken over under lease won.
func (s *Server) continueTaken(p *Plan, r store.Run, won store.Lease, mode string) {
	ref := release.RunRef{Plan: release.PlanInput{File: p.File}, ID: r.ID}
	by := r.RequesterIdentity()
	s.runs.spawn("takeover "+mode, func(ctx context.Context) {
		if !s.runs.track(r.ID, p, r.Env, r.State) {
			return
		}
		defer s.runs.untrack(r.ID)
		var err error
		if mode == plan.TakeoverBackout {
			_, err = s.svc.Backout(ctx, release.BackoutOptions{Run: ref, By: by, TakenOver: &won})
		} else {
			_, err = s.svc.Resume(ctx, release.ResumeOptions{Run: ref, By: by, TakenOver: &won})
		}
		var why *release.Error
		switch {
		case errors.As(err, &why):
			// Not continued here (the plan changed since the run
			// started, say): let the lease go, and do not take the run
			// again while its lease is this one.
			s.log.Error("taken-over run not continued here; its lease is let go", "run", r.ID, "err", err)
			s.taken.giveUp(r.ID, won.Epoch)
			s.letGo(ref, won)
		case err != nil:
			s.log.Info("taken-over run ended", "run", r.ID, "err", err)
		}
	})
}

// letGo ends lease l of a run taken over and not continued.
func (s *Server) letGo(ref release.RunRef, l store.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := s.svc.OpenStore(ctx, ref.Plan.File, release.StoreMode{Existing: true})
	if err != nil {
		return
	}
	defer st.Close()
	_ = st.ReleaseLease(ctx, l)
}

// pauseTaken leaves a run taken over paused, and lets its lease go: the
// next `golive resume` or `golive backout` takes it from there.
func (s *Server) pauseTaken(ctx context.Context, st store.Store, r store.Run, won store.Lease) {
	why := fmt.Sprintf("paused: its executor stopped renewing its lease and controls.takeover is pause; `golive resume %s` continues it, `golive backout %s` undoes it", r.ID, r.ID)
	if _, err := st.UpdateRunState(ctx, r.ID, []store.State{store.StateRunning, store.StateVerifying}, store.StatePaused, why); err != nil {
		s.log.Error("takeover: run not paused", "run", r.ID, "err", err)
		s.taken.giveUp(r.ID, won.Epoch)
	}
	if err := st.ReleaseLease(context.WithoutCancel(ctx), won); err != nil {
		s.log.Error("takeover: lease not let go", "run", r.ID, "err", err)
	}
	s.log.Info("taken-over run left paused for people to decide", "run", r.ID)
}

// takeoverMode is controls.takeover of the plan in file under env,
// and whether its backout is automatic.
func takeoverMode(file, env string) (mode string, autoBackout bool, err error) {
	res, err := load.Load(load.Options{File: file, Env: env, AllEnvs: env == ""})
	if err != nil {
		return "", false, err
	}
	if res.Plan == nil || res.Diags.HasErrors() {
		return "", false, fmt.Errorf("%s: the plan is not valid", file)
	}
	return res.Plan.Controls.TakeoverMode(), res.Plan.Backout.IsAutomatic(), nil
}
