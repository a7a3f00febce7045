package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// backout undoes what the journal says this run touched: per stage,
// newest first; the hosts of a stage in parallel; on each host the
// backouts of its started steps, newest first. A host whose backout fails
// (or cannot be reached) stops there and needs attention.
func (x *execution) backout(ctx context.Context, why string) (*Outcome, error) {
	// Connections from the rollout may be broken (that may be why it
	// failed): the backout dials every host again.
	x.closeConns()
	defer x.closeConns()
	// A backout must not be stopped by the cancellation that caused it.
	ctx = context.WithoutCancel(ctx)
	from := []store.State{store.StateFailed, store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StateBackoutFailed, store.StatePaused, store.StateSucceeded}
	if err := x.setState(ctx, from, store.StateBackingOut, "backing out: "+why); err != nil {
		return nil, err
	}
	stopHeartbeat := x.heartbeat(ctx)
	defer stopHeartbeat()
	x.stopRemote(ctx) // scripts left running must not go on under the backout
	// bctx ends only when the operator abandons the backout.
	bctx, stopAbandon := x.abandonable(ctx)
	defer stopAbandon()
	stages, work := x.hist.toBackOut()
	out, stopped := x.backoutStages(bctx, stages, work)
	if bctx.Err() == nil {
		// A host counts as backed out once the release restored on it
		// is healthy again (an abandoned check leaves no verdict).
		for _, a := range x.verifyBackout(bctx) {
			out.Attention = append(out.Attention, x.e.o.Redactor.String(a))
		}
	}
	if x.lockLost {
		return &Outcome{Run: x.run}, &LockLostError{Err: errors.New("another controller took the run over during its backout")}
	}
	if bctx.Err() != nil {
		// Left backing_out and locked: what was not backed out is
		// still to do, and the journal says exactly what.
		x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionBackoutAbandoned,
			Message: "backout abandoned by the operator; `golive backout " + x.run.ID + "` finishes it"})
		return &Outcome{Run: x.run}, &BackoutAbandonedError{RunID: x.run.ID}
	}
	sort.Strings(out.Attention)
	sort.Strings(out.NotBackedOut)
	for _, a := range out.Attention {
		x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionNeedsAttention, Message: a})
	}
	x.recordBackedOutLive(ctx, stages, work, stopped)
	final, reason := store.StateBackedOut, "backed out: "+why
	if len(out.Attention) > 0 {
		final = store.StateBackoutFailed
		reason = fmt.Sprintf("backout incomplete: %d host(s) need attention (%s)", len(out.Attention), why)
	}
	err := x.setState(ctx, []store.State{store.StateBackingOut}, final, reason)
	out.Run = x.run
	return out, err
}

// backoutStages backs out the hosts of each stage, newest stage first,
// until ctx (the abandonable context) ends. A host whose backout failed
// stops there, in every older stage too: undoing older work under newer
// work that is still applied is worse than leaving it for a person.
func (x *execution) backoutStages(ctx context.Context, stages []string, work map[string]map[string][]string) (*Outcome, map[string]bool) {
	out := &Outcome{}
	var mu sync.Mutex
	stopped := map[string]bool{}
	for _, stage := range stages {
		if ctx.Err() != nil {
			break
		}
		hosts := make([]string, 0, len(work[stage]))
		for h := range work[stage] {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		g := errgroup.Group{}
		g.SetLimit(x.e.o.Parallel)
		for _, host := range hosts {
			mu.Lock()
			skip := stopped[host]
			mu.Unlock()
			if skip {
				mu.Lock()
				out.Attention = append(out.Attention, fmt.Sprintf("%s: not backed out in stage %s (%s) because a newer backout on it failed", host, stage, strings.Join(work[stage][host], ", ")))
				mu.Unlock()
				continue
			}
			g.Go(func() error {
				if ctx.Err() != nil {
					return nil // abandoned: not started, still to do
				}
				notBacked, attention := x.backoutHost(ctx, stage, host, work[stage][host])
				mu.Lock()
				out.NotBackedOut = append(out.NotBackedOut, notBacked...)
				if attention != "" {
					out.Attention = append(out.Attention, x.e.o.Redactor.String(attention))
					stopped[host] = true
				}
				mu.Unlock()
				return nil
			})
		}
		g.Wait()
	}
	return out, stopped
}

// backoutHost backs out one host's steps of one stage, newest first. It
// returns the steps without a backout and, when the host needs attention,
// why.
func (x *execution) backoutHost(ctx context.Context, stage, host string, steps []string) (notBacked []string, attention string) {
	h, s := x.findHost(stage, host)
	if h == nil {
		return nil, fmt.Sprintf("%s: not in this plan's stage %s any more; back it out by hand", host, stage)
	}
	x.journal(ctx, store.Event{Kind: store.KindHost, Action: ActionBackoutStarted, Stage: stage, Host: host})
	for _, name := range steps {
		st := findStep(h, name)
		ev := store.Event{Kind: store.KindStep, Stage: stage, Host: host, Step: name}
		if st == nil || st.Backout == "" {
			ev.Action, ev.Message = ActionNotBackedOut, "no backout: this step's change is not undone"
			x.journal(ctx, ev)
			notBacked = append(notBacked, host+"/"+name)
			continue
		}
		if err := x.backoutStep(ctx, s, h, st); err != nil {
			x.journal(ctx, store.Event{Kind: store.KindHost, Action: store.ActionBackoutFailed, Stage: stage, Host: host, Message: err.Error()})
			return notBacked, fmt.Sprintf("%s: backout of step %s failed: %v", host, name, err)
		}
	}
	x.journal(ctx, store.Event{Kind: store.KindHost, Action: store.ActionBackedOut, Stage: stage, Host: host})
	return notBacked, ""
}

func (x *execution) backoutStep(ctx context.Context, s *rollout.Stage, h *rollout.Host, st *rollout.Step) error {
	ev := store.Event{Kind: store.KindStep, Stage: s.Name, Host: h.Name, Step: st.Name, Action: ActionBackoutStarted}
	if err := x.journalOrFail(ctx, ev); err != nil {
		return err
	}
	var conn transport.Conn
	var err error
	if st.Local {
		conn, err = x.localConn(ctx)
	} else {
		conn, err = x.conn(ctx, h)
	}
	if err != nil {
		ev.Action, ev.Message = store.ActionBackoutFailed, err.Error()
		x.journal(ctx, ev)
		return err
	}
	if err := x.stillExecutor(ctx); err != nil {
		var lost *LockLostError
		if errors.As(err, &lost) {
			x.mu.Lock()
			x.lockLost = true // start no further host
			x.mu.Unlock()
		}
		return err
	}
	bctx, cancel := context.WithTimeoutCause(ctx, st.Timeout, errStepTimeout)
	defer cancel()
	tail := &transport.Tail{Max: tailKeep}
	b := batchOf(s, h.Name)
	res, err := conn.Run(bctx, transport.Command{Script: st.Backout, Env: x.stepEnv(s, b, h, st), Stdout: tail, Stderr: tail,
		Started: x.started(ctx, s.Name, b.Index, h.Name, st.Name, true)})
	ev.Duration, ev.Output = res.Duration, tail.String()
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errAbandoned):
		ev.Action, ev.Message = store.ActionBackoutFailed, "terminated: "+errAbandoned.Error()
		err = errAbandoned
	case err != nil:
		ev.Action, ev.Message = store.ActionBackoutFailed, err.Error()
	case res.ExitCode != 0:
		ev.Action, ev.ExitCode = store.ActionBackoutFailed, store.ExitCode(res.ExitCode)
		err = fmt.Errorf("exit %d%s", res.ExitCode, lastLine(ev.Output))
	default:
		ev.Action, ev.ExitCode = store.ActionBackedOut, store.ExitCode(0)
	}
	if jerr := x.journal(ctx, ev); jerr != nil && err == nil {
		err = jerr
	}
	return err
}

// errAbandoned is the cause of a backout the operator abandoned.
var errAbandoned = errors.New("backout abandoned by the operator")

// abandonable returns ctx, cancelled with errAbandoned once the operator
// abandons the backout (Options.Abandon is closed).
func (x *execution) abandonable(ctx context.Context) (context.Context, func()) {
	bctx, cancel := context.WithCancelCause(ctx)
	if x.e.o.Abandon == nil {
		return bctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-x.e.o.Abandon:
			cancel(errAbandoned)
		case <-done:
		}
	}()
	return bctx, func() { close(done); cancel(nil) }
}

func (x *execution) findHost(stage, host string) (*rollout.Host, *rollout.Stage) {
	for _, s := range x.ro.Stages {
		if s.Name != stage {
			continue
		}
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				if h.Name == host {
					return h, s
				}
			}
		}
	}
	return nil, nil
}

func findStep(h *rollout.Host, name string) *rollout.Step {
	for _, st := range h.Steps {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// recordBackedOutLive records, for every host backed out cleanly, that
// the previous release is live again (or, after a first release, that
// nothing is).
func (x *execution) recordBackedOutLive(ctx context.Context, stages []string, work map[string]map[string][]string, stopped map[string]bool) {
	seen := map[string]bool{}
	var hosts []string
	for _, stage := range stages {
		for host := range work[stage] {
			if !stopped[host] && !seen[host] {
				seen[host] = true
				hosts = append(hosts, host)
			}
		}
	}
	sort.Strings(hosts)
	if x.ro.Previous != "" {
		x.setLive(ctx, hosts, x.ro.Previous)
		return
	}
	for _, h := range hosts {
		x.e.o.Store.DeleteLive(ctx, x.ro.Plan, x.ro.Env, h)
	}
}
