package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// Journal vocabulary of remote process groups (KindStep; Message holds
// transport.RemoteProc.String()).
const (
	// ActionRemoteStarted: a step's script runs on its target in this
	// process group.
	ActionRemoteStarted store.Action = "remote_started"
	// ActionBackoutRemoteStarted: the same for a step's backout script.
	ActionBackoutRemoteStarted store.Action = "backout_remote_started"
	// ActionRemoteStopped: a group an earlier controller (or a lost
	// connection) left behind was stopped, or had already ended.
	ActionRemoteStopped store.Action = "remote_stopped"
	// ActionRemoteStopFailed: such a group could not be stopped.
	ActionRemoteStopFailed store.Action = "remote_stop_failed"
)

// remoteKey names the script of a step (or of its backout) on a host.
type remoteKey struct {
	key
	backout bool
}

// remoteProc is a process group the journal says was started and not
// known to have ended: its script did not report an exit status.
type remoteProc struct {
	remoteKey
	proc transport.RemoteProc
}

// applyRemote follows remote process groups through the journal (h.mu
// held): started; ended with an exit status (it exited by itself); or
// stopped by a later controller.
func (h *history) applyRemote(e store.Event, k key) {
	if e.Kind != store.KindStep {
		return
	}
	if h.remote == nil {
		h.remote, h.remoteCur = map[string]remoteProc{}, map[remoteKey]string{}
	}
	switch e.Action {
	case ActionRemoteStarted, ActionBackoutRemoteStarted:
		if p, ok := transport.ParseRemoteProc(e.Message); ok {
			rk := remoteKey{k, e.Action == ActionBackoutRemoteStarted}
			h.remote[p.Tag] = remoteProc{rk, p}
			h.remoteCur[rk] = p.Tag
		}
	case ActionRemoteStopped:
		if p, ok := transport.ParseRemoteProc(e.Message); ok {
			delete(h.remote, p.Tag)
		}
	case store.ActionFinished, store.ActionFailed, store.ActionRetried, store.ActionTimedOut:
		if e.ExitCode != nil {
			delete(h.remote, h.remoteCur[remoteKey{k, false}])
		}
	case store.ActionBackedOut, store.ActionBackoutFailed:
		if e.ExitCode != nil {
			delete(h.remote, h.remoteCur[remoteKey{k, true}])
		}
	}
}

// remoteLeft lists the process groups that may still run, by stage, host
// and step.
func (h *history) remoteLeft() []remoteProc {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]remoteProc, 0, len(h.remote))
	for _, p := range h.remote {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.stage != b.stage {
			return a.stage < b.stage
		}
		if a.host != b.host {
			return a.host < b.host
		}
		return a.proc.Tag < b.proc.Tag
	})
	return out
}

// started is the Command.Started of a step's (or backout's) script: it
// journals the script's remote process group.
func (x *execution) started(ctx context.Context, stage string, batch int, host, step string, backout bool) func(transport.RemoteProc) {
	action := ActionRemoteStarted
	if backout {
		action = ActionBackoutRemoteStarted
	}
	return func(p transport.RemoteProc) {
		x.journal(ctx, store.Event{Kind: store.KindStep, Action: action, Stage: stage, Batch: batch, Host: host, Step: step, Message: p.String()})
	}
}

// stopRemote stops, before a resumed or backed-out run touches anything,
// the remote process groups the journal says were started and did not
// report an exit status: scripts that a killed controller or a lost
// connection left running must not go on changing a target while it is
// worked on again. Each group is checked by its tag first (a recycled id
// is left alone); every outcome is journaled.
func (x *execution) stopRemote(ctx context.Context) {
	byHost := map[string][]remoteProc{}
	var hosts []string
	for _, p := range x.hist.remoteLeft() {
		if _, ok := byHost[p.host]; !ok {
			hosts = append(hosts, p.host)
		}
		byHost[p.host] = append(byHost[p.host], p)
	}
	var wg sync.WaitGroup
	for _, host := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.stopRemoteOn(ctx, byHost[host])
		}()
	}
	wg.Wait()
}

func (x *execution) stopRemoteOn(ctx context.Context, procs []remoteProc) {
	first := procs[0]
	h, _ := x.findHost(first.stage, first.host)
	var stopper transport.GroupStopper
	var err error
	if h == nil {
		err = fmt.Errorf("host %s is not in this plan's stage %s any more", first.host, first.stage)
	} else {
		stopper, err = x.stopperFor(ctx, h)
	}
	for _, p := range procs {
		ev := store.Event{Kind: store.KindStep, Stage: p.stage, Host: p.host, Step: p.step}
		if err != nil {
			ev.Action, ev.Message = ActionRemoteStopFailed, fmt.Sprintf("could not stop %s: %v", p.proc, err)
			x.journal(ctx, ev)
			continue
		}
		if stopper == nil {
			continue
		}
		found, serr := stopper.StopGroup(ctx, p.proc)
		switch {
		case serr != nil:
			ev.Action, ev.Message = ActionRemoteStopFailed, fmt.Sprintf("could not stop %s: %v", p.proc, serr)
			x.dropIfLost(h, serr)
		case found:
			ev.Action, ev.Message = ActionRemoteStopped, fmt.Sprintf("stopped %s: it was still running, left by an earlier controller or a lost connection", p.proc)
		default:
			ev.Action, ev.Message = ActionRemoteStopped, fmt.Sprintf("%s had already ended", p.proc)
		}
		x.journal(ctx, ev)
	}
}

// stopperFor is the host's connection when its transport can stop
// process groups; nil (and no error) when it cannot (local scripts die
// with the controller).
func (x *execution) stopperFor(ctx context.Context, h *rollout.Host) (transport.GroupStopper, error) {
	conn, err := x.conn(ctx, h)
	if err != nil {
		return nil, err
	}
	if rc, ok := conn.(redactedConn); ok {
		conn = rc.Conn // the capability is the transport's, under the redactor
	}
	s, _ := conn.(transport.GroupStopper)
	return s, nil
}

// stopEarlierAttempts stops, before a step's next attempt, the remote
// group of an earlier attempt that did not report an exit status (its
// connection was lost): two copies of a step must not run at once.
func (x *execution) stopEarlierAttempts(ctx context.Context, stage, host, step string) {
	if mine := x.hist.remoteLeftOf(key{stage, host, step}); len(mine) > 0 {
		x.stopRemoteOn(ctx, mine)
	}
}

// remoteLeftOf is remoteLeft for one step's script (not its backout's),
// taken without copying and sorting every group in flight: each step's
// start asks, and at N=1,000 hundreds of groups are in flight.
func (h *history) remoteLeftOf(k key) []remoteProc {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []remoteProc
	for _, p := range h.remote {
		if p.key == k && !p.backout {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].proc.Tag < out[j].proc.Tag })
	return out
}
