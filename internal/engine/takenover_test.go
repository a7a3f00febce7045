package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// runWithLapsedLease starts the fixture's run with an executor that
// stops renewing its lease (no heartbeat, a short TTL) while its step
// sleeps: its pid (this process) is alive, its lease expires. It returns
// the run and a channel with the old executor's end.
func runWithLapsedLease(t *testing.T, f *fixture) (store.Run, <-chan error) {
	t.Helper()
	old := f.engine(func(o *engine.Options) { o.Heartbeat = time.Hour; o.LeaseTTL = 200 * time.Millisecond })
	done := make(chan error, 1)
	go func() {
		_, err := old.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		done <- err
	}()
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	runs, err := f.st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListRuns = %d runs, %v", len(runs), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := f.st.GetLease(context.Background(), runs[0].ID)
		if err == nil && l.Expired(time.Now()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease never expired: %+v, %v", l, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return runs[0], done
}

// TestResumeUnderTakenOverLease: a server took the expired lease of a run
// whose executor is alive but silent (AcquireLease, as golive serve does)
// and resumes it under that lease: the engine takes the environment lock
// from the live old holder (the lease decides, not its pid), finishes the
// run, and the old executor is fenced.
func TestResumeUnderTakenOverLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(sleepingStep, "sleep 30", "sleep 2", 1))
	run, oldDone := runWithLapsedLease(t, f)
	b := store.Holder{PID: 1, Hostname: "server-b"}
	won, err := f.st.AcquireLease(context.Background(), run.ID, engine.LeaseHolder(b), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	run, _ = f.st.GetRun(context.Background(), run.ID)
	e := f.engine(func(o *engine.Options) { o.Holder = b; o.TakenOver = &won })
	out, err := e.Resume(context.Background(), run, f.ro)
	if err != nil || out.Run.State != store.StateSucceeded {
		t.Fatalf("Resume under the taken-over lease: %v, %+v", err, out)
	}
	select {
	case err := <-oldDone:
		var lost *engine.LockLostError
		if !errors.As(err, &lost) || !errors.Is(lost.Err, store.ErrFenced) {
			t.Errorf("old executor ended with %v, want a fenced *engine.LockLostError", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the old executor went on")
	}
	evs, _ := f.st.Events(context.Background(), run.ID, 0)
	var stolen bool
	for _, ev := range evs {
		stolen = stolen || ev.Kind == store.KindLock && ev.Action == store.ActionStolen && strings.Contains(ev.Message, "with the run's lease")
	}
	if !stolen {
		t.Errorf("the lock was not journaled as taken over with the lease: %+v", evs)
	}
}

// TestResumeUnderStaleTakenOverLease: the lease a caller took over was
// taken again by another before it resumed: Resume is refused (fenced)
// and nothing runs or is written.
func TestResumeUnderStaleTakenOverLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(sleepingStep, "sleep 30", "sleep 2", 1))
	run, oldDone := runWithLapsedLease(t, f)
	b := store.Holder{PID: 1, Hostname: "server-b"}
	won, err := f.st.AcquireLease(context.Background(), run.ID, engine.LeaseHolder(b), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.StealLease(context.Background(), won, "server-c", time.Minute); err != nil {
		t.Fatal(err)
	}
	<-oldDone
	before, _ := f.st.Events(context.Background(), run.ID, 0)
	logBefore := f.log("h1")
	run, _ = f.st.GetRun(context.Background(), run.ID)
	e := f.engine(func(o *engine.Options) { o.Holder = b; o.TakenOver = &won })
	if _, err := e.Resume(context.Background(), run, f.ro); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Resume under a stale lease: %v, want fenced", err)
	}
	after, _ := f.st.Events(context.Background(), run.ID, 0)
	if len(after) != len(before) {
		t.Errorf("wrote %d events under a stale lease", len(after)-len(before))
	}
	equal(t, "log", f.log("h1"), logBefore)
}
