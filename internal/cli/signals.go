package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Run runs golive as the process: it handles signals (see interrupts) and
// returns the exit code. cmd/golive calls it.
func Run(args []string) int {
	// A write to a closed stdout or stderr (`golive run | head`) must be
	// an error golive ignores, not the death of the controller: with
	// SIGPIPE notified, Go returns EPIPE instead of exiting. Notify rather
	// than Ignore, so that the steps' shells get the default disposition.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	go func() {
		for range pipe {
		}
	}()
	stdio := Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	in := notifyInterrupts(context.Background(), stdio.Err)
	defer in.stop()
	return mainWith(in.ctx, args, stdio, in)
}

// interrupts turns SIGINT, SIGTERM and SIGHUP (a closed terminal) into
// the orderly end of a run:
//
//  1. the first cancels the command's context: a run terminates its
//     steps and backs out what it changed (as an abort would);
//  2. a backout is not stopped by the next one: golive says so and what
//     one more does;
//  3. the third abandons the backout: backouts running are terminated
//     and journaled, the run is left backing_out (resumable with
//     `golive backout RUN`) and golive exits 4.
//
// A signal the process was started with ignored (nohup, a background job
// of a non-interactive shell) stays ignored.
type interrupts struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	w      io.Writer
	sigs   chan os.Signal
	msgs   chan string // to the writer goroutine; nil: write directly

	mu        sync.Mutex
	count     int
	runID     string
	state     store.State
	abandon   chan struct{}
	abandoned bool
}

// abandonAfter is the number of signals that abandons a backout.
const abandonAfter = 3

func notifyInterrupts(parent context.Context, w io.Writer) *interrupts {
	ctx, cancel := context.WithCancelCause(parent)
	in := &interrupts{ctx: ctx, cancel: cancel, w: w, sigs: make(chan os.Signal, 4), msgs: make(chan string, 8), abandon: make(chan struct{})}
	go func() {
		for m := range in.msgs {
			io.WriteString(in.w, m)
		}
	}()
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			signal.Notify(in.sigs, s)
		}
	}
	go func() {
		for s := range in.sigs {
			in.got(s)
		}
	}()
	return in
}

func (in *interrupts) stop() {
	signal.Stop(in.sigs)
	in.cancel(nil)
	// Give the last message a moment to reach stderr.
	for deadline := time.Now().Add(time.Second); len(in.msgs) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

func sigName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// got handles one signal. What it prints goes to stderr (which may be a
// closed terminal: a failed write changes nothing).
func (in *interrupts) got(s os.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.count++
	name := sigName(s)
	run := "the run"
	if in.runID != "" {
		run = "run " + in.runID
	}
	left := abandonAfter - in.count
	switch {
	case in.count == 1 && in.state != store.StateBackingOut:
		in.cancel(fmt.Errorf("%s received", name))
		if in.runID == "" {
			return
		}
		in.say("\ngolive: %s: stopping %s: terminating its steps, then backing out what it changed (a backout is not stopped by a second signal; a third abandons it)\n", name, run)
	case left > 0 && in.state == store.StateBackingOut:
		in.cancel(fmt.Errorf("%s received", name))
		in.say("\ngolive: %s: the backout of %s goes on (stopping it halfway leaves hosts between releases); %d more abandons it, leaving the run backing_out for `golive backout %s`\n",
			name, run, left, orDefault(in.runID, "RUN"))
	case left > 0:
		in.say("\ngolive: %s: %s is stopping already (terminating its steps, then backing out); %d more abandons its backout, leaving the run backing_out for `golive backout %s`\n",
			name, run, left, orDefault(in.runID, "RUN"))
	case !in.abandoned:
		in.abandoned = true
		close(in.abandon)
		in.say("\ngolive: %s: abandoning the backout of %s: terminating the backouts that run; the journal keeps what is done, `golive backout %s` finishes the rest\n",
			name, run, orDefault(in.runID, "RUN"))
	}
}

// say writes a message without waiting for stderr: a frozen or dead
// terminal must not hold up the handling of the next signal.
func (in *interrupts) say(format string, args ...any) {
	m := fmt.Sprintf(format, args...)
	if in.msgs == nil {
		io.WriteString(in.w, m)
		return
	}
	select {
	case in.msgs <- m:
	default:
	}
}

// Observe follows the run's id and state, so that a signal can say what
// it does to it.
func (in *interrupts) Observe(ev store.Event) {
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.runID = ev.RunID
	if ev.Kind == store.KindState {
		in.state = store.State(ev.Action)
	}
}

// abandonCh is closed by the third signal; nil (never closed) without
// signal handling.
func (in *interrupts) abandonCh() <-chan struct{} {
	if in == nil {
		return nil
	}
	return in.abandon
}
