package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// BudgetError says a stage had more failed hosts than it allows.
type BudgetError struct {
	Stage          string
	Failed, Budget int
	First          string // the first host that failed, and why
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("stage %s: %d host(s) failed, max_failed is %d (first: %s)", e.Stage, e.Failed, e.Budget, e.First)
}

func (e *BudgetError) Unwrap() error { return errBudget }

// stageRun is the state of one stage being executed.
type stageRun struct {
	s      *rollout.Stage
	mu     sync.Mutex
	failed int
	first  string
	// stopPreparing cancels the preparation of the next batch: called as
	// soon as a batch is cancelled, not once its hosts are terminated
	// (at 250 hosts a batch, that takes seconds of new prepare steps).
	stopPreparing func()
}

// stage executes one stage: its batches in order, failing as soon as the
// failure budget is exceeded.
func (x *execution) stage(ctx context.Context, s *rollout.Stage) error {
	if err := x.journal(ctx, store.Event{Kind: store.KindStage, Action: store.ActionStarted, Stage: s.Name}); err != nil {
		return err
	}
	sr := &stageRun{s: s}
	// Hosts that failed before a resume still count against the budget.
	for _, b := range s.Batches {
		for _, h := range b.Hosts {
			if x.hist.isHostFailed(s.Name, h.Name) && !x.hist.isHostDone(s.Name, h.Name) {
				sr.failed++
			}
		}
	}
	if sr.failed > s.MaxFailed {
		err := &BudgetError{Stage: s.Name, Failed: sr.failed, Budget: s.MaxFailed, First: "failed before the controller stopped"}
		x.journal(ctx, store.Event{Kind: store.KindStage, Action: store.ActionFailed, Stage: s.Name, Message: err.Error()})
		return err
	}
	pctx, stopPrefetch := context.WithCancel(ctx)
	sr.stopPreparing = stopPrefetch
	var prep *preparing // the preparation of the next batch (prepare.go)
	defer func() {
		stopPrefetch()
		prep.wait()
		x.closePrepared()
	}()
	for i, b := range s.Batches {
		if err := x.checkWindow(ctx); err != nil {
			return err
		}
		if err := prep.wait(); err != nil {
			err = fmt.Errorf("%w: %w", errJournal, err)
			x.journal(ctx, store.Event{Kind: store.KindStage, Action: store.ActionFailed, Stage: s.Name, Message: err.Error()})
			return err
		}
		prep = nil
		var prepared func() // starts preparing the next batch
		if i+1 < len(s.Batches) {
			next := s.Batches[i+1]
			x.prefetch(pctx, next)
			if hasPrepare(next) {
				// The batch after next is not dialed yet: its hosts'
				// connections would be held (memory: x/crypto's buffers
				// per connection) for a whole batch before they are
				// used; its preparation dials them when it starts.
				prepared = func() { prep = x.prepareAhead(pctx, s, next) }
			}
		}
		if err := x.batch(ctx, sr, b, prepared); err != nil {
			x.journal(ctx, store.Event{Kind: store.KindStage, Action: store.ActionFailed, Stage: s.Name, Message: err.Error()})
			return err
		}
		x.releaseConns(b)
		if s.Pause > 0 && i < len(s.Batches)-1 {
			if err := x.e.o.Clock.Sleep(ctx, s.Pause); err != nil {
				return context.Cause(ctx)
			}
		}
	}
	return x.journal(ctx, store.Event{Kind: store.KindStage, Action: store.ActionFinished, Stage: s.Name})
}

// batch runs the hosts of one batch in parallel. The first failure that
// exceeds the budget cancels the batch: hosts still working are
// terminated, hosts not started are not started.
// Once every host of the batch has passed its prepare steps, it calls
// prepared (when not nil), from one of its goroutines.
func (x *execution) batch(ctx context.Context, sr *stageRun, b *rollout.Batch, prepared func()) error {
	var todo []*rollout.Host
	for _, h := range b.Hosts {
		// A host that finished is not run again; one that failed stays
		// failed (it is already counted against the budget).
		if !x.hist.isHostDone(sr.s.Name, h.Name) && !x.hist.isHostFailed(sr.s.Name, h.Name) {
			todo = append(todo, h)
		}
	}
	if len(todo) == 0 {
		if prepared != nil {
			prepared()
		}
		return nil
	}
	bar := newPreparedBarrier(len(todo), prepared)
	if err := x.journal(ctx, store.Event{Kind: store.KindBatch, Action: store.ActionStarted, Stage: sr.s.Name, Batch: b.Index}); err != nil {
		return err
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g, gctx := errgroup.WithContext(bctx)
	g.SetLimit(x.e.o.Parallel)
	for _, h := range todo {
		if gctx.Err() != nil {
			break
		}
		pass := bar.passed()
		g.Go(func() error {
			defer pass()
			if gctx.Err() != nil {
				return nil
			}
			// The host's session is closed last, once a failure has
			// cancelled the batch, and in the background: closing it
			// waits for the target (a round trip, seconds on a loaded
			// controller with hundreds of hosts in flight).
			hs := x.hostSessionFor(h)
			defer x.closeSoon(hs)
			err := x.host(gctx, sr.s, b, h, hs, pass, func(err error) { sr.hostFailed(h, err, cancel) })
			if errors.Is(err, errJournal) {
				cancel(err)
				sr.stopPreparing()
				return err
			}
			return nil // failed (counted by hostFailed), terminated or done
		})
	}
	g.Wait()
	if cause := context.Cause(bctx); cause != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return cause
	}
	x.journal(ctx, store.Event{Kind: store.KindBatch, Action: store.ActionFinished, Stage: sr.s.Name, Batch: b.Index})
	return nil
}

// hostFailed counts h, which failed, against the stage's failure budget;
// over it, it cancels the batch and the preparation of the next one.
func (sr *stageRun) hostFailed(h *rollout.Host, err error, cancel context.CancelCauseFunc) {
	sr.mu.Lock()
	sr.failed++
	if sr.first == "" {
		sr.first = fmt.Sprintf("%s: %v", h.Name, err)
	}
	over, failed, first := sr.failed > sr.s.MaxFailed, sr.failed, sr.first
	sr.mu.Unlock()
	if over {
		cancel(&BudgetError{Stage: sr.s.Name, Failed: failed, Budget: sr.s.MaxFailed, First: first})
		sr.stopPreparing()
	}
}

// errJournal marks a failure to write the journal: the run cannot go on
// safely.
var errJournal = errors.New("journal write failed")

// host runs a host's steps, then its health checks; it calls passed once
// its prepare steps are done, and failed when the host failed (not when
// it was terminated, nor when the journal failed).
func (x *execution) host(ctx context.Context, s *rollout.Stage, b *rollout.Batch, h *rollout.Host, hs *hostSession, passed func(), failed func(error)) error {
	ev := store.Event{Kind: store.KindHost, Stage: s.Name, Batch: b.Index, Host: h.Name}
	ev.Action = store.ActionStarted
	if err := x.journal(ctx, ev); err != nil {
		return fmt.Errorf("%w: %w", errJournal, err)
	}
	err := x.hostWork(ctx, s, b, h, hs, passed)
	if err != nil {
		ev.Action, ev.Message = store.ActionFailed, err.Error()
		switch {
		case ctx.Err() != nil:
			ev.Action, ev.Message = store.ActionTerminated, "terminated: "+context.Cause(ctx).Error()
		case !errors.Is(err, errJournal):
			// What failed is journaled (the step's or check's failed
			// event): the batch is cancelled now, not one more journal
			// commit later (at hundreds of hosts in flight, hundreds of
			// milliseconds in which the batch-mates work on).
			failed(err)
		}
	} else {
		ev.Action = store.ActionFinished
	}
	if jerr := x.journal(ctx, ev); jerr != nil {
		return fmt.Errorf("%w: %w", errJournal, jerr)
	}
	return err
}

// hostWork runs h's steps on hs (which the caller closes), then its
// health checks.
func (x *execution) hostWork(ctx context.Context, s *rollout.Stage, b *rollout.Batch, h *rollout.Host, hs *hostSession, passed func()) error {
	for _, st := range h.Steps {
		if !st.Prepare {
			passed()
		}
		if x.hist.isStepDone(s.Name, h.Name, st.Name) {
			continue
		}
		if err := x.step(ctx, s, b, h, st, hs); err != nil {
			return err
		}
	}
	passed()
	x.closeSoon(hs) // the health checks need not wait for it
	conn, err := x.conn(ctx, h)
	if err != nil {
		return err
	}
	for _, c := range h.Health {
		if ctx.Err() != nil { // the batch was cancelled: start nothing more
			return context.Cause(ctx)
		}
		if err := x.runCheck(ctx, s.Name, b.Index, h, c, conn); err != nil {
			return err
		}
	}
	return nil
}
