package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// waitQueued waits until s has queued n append requests in all.
func waitQueued(t *testing.T, s *sqlite.Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.AppendsQueued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d appends queued, want %d", s.AppendsQueued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type appended struct {
	seq int64
	err error
}

// appendAsync starts AppendEvent(ctx, e) and returns where its result goes.
func appendAsync(ctx context.Context, s *sqlite.Store, e store.Event) <-chan appended {
	ch := make(chan appended, 1)
	go func() {
		seq, err := s.AppendEvent(ctx, e)
		ch <- appended{seq, err}
	}()
	return ch
}

// TestAppendGroupCommit: appends queued while the writer is busy are written
// in one transaction, with gapless seqs.
func TestAppendGroupCommit(t *testing.T) {
	const writers = 100
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	commits0, queued0 := s.AppendCommits(), s.AppendsQueued()
	release := s.HoldWrites()
	var wg sync.WaitGroup
	seqs := make([]int64, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			seqs[i], errs[i] = s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Batch: i})
		})
	}
	waitQueued(t, s, queued0+writers)
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	// The writer may have taken the first request(s) before the others were
	// queued, then blocked on the held mutex: at most two batches.
	if n := s.AppendCommits() - commits0; n < 1 || n > 2 {
		t.Errorf("%d appends took %d commits, want 1 or 2", writers, n)
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != int64(i+2) {
			t.Fatalf("seqs not unique and gapless at %d: %d", i, seq)
		}
	}
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil || len(events) != writers+1 {
		t.Fatalf("Events = %d, %v", len(events), err)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("stored seqs not gapless at %d: %d", i, e.Seq)
		}
	}
}

// TestAppendConcurrentBatches: free-running concurrent appenders to several
// runs share commits, and every run's seqs stay gapless and in each writer's
// order.
func TestAppendConcurrentBatches(t *testing.T) {
	const runs, writers, each = 3, 30, 20
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var ids []string
	for range runs {
		r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	commits0 := s.AppendCommits()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range writers {
		wg.Go(func() {
			var last int64
			for j := range each {
				seq, err := s.AppendEvent(ctx, store.Event{RunID: ids[w%runs], Kind: "step", Action: "started", Batch: w, Step: string(rune('a' + j))})
				if err != nil || seq <= last {
					t.Errorf("writer %d append %d = %d, %v (last %d)", w, j, seq, err, last)
					failed.Add(1)
					return
				}
				last = seq
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	commits := s.AppendCommits() - commits0
	t.Logf("%d appends in %d commits", writers*each, commits)
	if commits >= writers*each {
		t.Errorf("%d appends took %d commits: not batched", writers*each, commits)
	}
	for _, id := range ids {
		events, err := s.Events(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := writers/runs*each + 1; len(events) != want {
			t.Errorf("run %s: %d events, want %d", id, len(events), want)
		}
		next := map[int]rune{}
		for i, e := range events {
			if e.Seq != int64(i+1) {
				t.Fatalf("run %s: seqs not gapless at %d: %d", id, i, e.Seq)
			}
			if i == 0 {
				continue
			}
			if want := 'a' + next[e.Batch]; e.Step != string(want) {
				t.Errorf("run %s: writer %d's events out of order: %q, want %q", id, e.Batch, e.Step, string(want))
			}
			next[e.Batch]++
		}
	}
}

// TestAppendBatchPartialFailure: an event for an unknown run fails alone; the
// others in its batch commit, and it takes no seq.
func TestAppendBatchPartialFailure(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	q := s.AppendsQueued()
	commits0 := s.AppendCommits()
	release := s.HoldWrites()
	var results []<-chan appended
	for i, id := range []string{r.ID, "r-missing", r.ID, "r-missing", r.ID} {
		results = append(results, appendAsync(ctx, s, store.Event{RunID: id, Kind: "host", Action: "started", Batch: i}))
		waitQueued(t, s, q+int64(i+1)) // queued in this order
	}
	release()
	want := []int64{2, 0, 3, 0, 4}
	for i, ch := range results {
		got := <-ch
		if want[i] == 0 {
			if !errors.Is(got.err, store.ErrNotFound) {
				t.Errorf("append %d (unknown run) = %d, %v, want ErrNotFound", i, got.seq, got.err)
			}
			continue
		}
		if got.err != nil || got.seq != want[i] {
			t.Errorf("append %d = %d, %v, want %d", i, got.seq, got.err, want[i])
		}
	}
	if n := s.AppendCommits() - commits0; n > 2 {
		t.Errorf("%d commits, want at most 2", n)
	}
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil || len(events) != 4 {
		t.Fatalf("Events = %d, %v, want 4", len(events), err)
	}
	for i, e := range events[1:] {
		if e.Seq != int64(i+2) || e.Batch != 2*i {
			t.Errorf("event %d: seq %d batch %d", i, e.Seq, e.Batch)
		}
	}
}

// TestAppendCanceledWhileQueued: an event whose caller's ctx is canceled
// after it was queued is still written, and AppendEvent reports it as
// written (nil error, its seq), never an error for a stored event.
func TestAppendCanceledWhileQueued(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	q := s.AppendsQueued()
	release := s.HoldWrites()
	cctx, cancel := context.WithCancel(ctx)
	ch := appendAsync(cctx, s, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "queued"})
	waitQueued(t, s, q+1)
	cancel()
	select {
	case got := <-ch:
		release()
		t.Fatalf("AppendEvent returned %d, %v before its event was committed", got.seq, got.err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if got := <-ch; got.err != nil || got.seq != 2 {
		t.Fatalf("AppendEvent canceled while queued = %d, %v, want 2, nil", got.seq, got.err)
	}

	// Canceled before it is queued: not written, no seq taken.
	if seq, err := s.AppendEvent(cctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "canceled"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendEvent with a canceled ctx = %d, %v, want context.Canceled", seq, err)
	}
	if seq, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "after"}); err != nil || seq != 3 {
		t.Fatalf("AppendEvent after = %d, %v, want 3", seq, err)
	}
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil || len(events) != 3 || events[1].Message != "queued" || events[2].Message != "after" {
		t.Fatalf("Events = %+v, %v", events, err)
	}
}

// TestCloseWritesQueued: Close writes the appends already queued and answers
// them; AppendEvent after Close fails.
func TestCloseWritesQueued(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	q := s.AppendsQueued()
	release := s.HoldWrites()
	var results []<-chan appended
	for i := range 5 {
		results = append(results, appendAsync(ctx, s, store.Event{RunID: r.ID, Kind: "host", Action: "started", Batch: i}))
	}
	waitQueued(t, s, q+5)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(20 * time.Millisecond) // let Close start
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, ch := range results {
		if got := <-ch; got.err != nil {
			t.Errorf("append %d queued before Close: %v", i, got.err)
		}
	}
	if _, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started"}); err == nil {
		t.Error("AppendEvent after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s = open(t, path)
	if events, err := s.Events(ctx, r.ID, 0); err != nil || len(events) != 6 {
		t.Fatalf("Events after reopen = %d, %v, want 6", len(events), err)
	}
}

// TestAppendThenUpdateState: a goroutine that appends and then changes the
// run's state finds its events before the state event.
func TestAppendThenUpdateState(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 { // noise from other appenders
		wg.Go(func() {
			for range 20 {
				if _, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Batch: i + 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seq, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "run", Action: "started"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRunState(ctx, r.ID, []store.State{store.StatePending}, store.StateRunning, "go"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == store.KindState && e.Action == store.Action(store.StateRunning) && e.Seq <= seq {
			t.Errorf("state event %d before the append %d that preceded it", e.Seq, seq)
		}
	}
}

func TestSetLiveMany(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Env: "prod", Release: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLive(ctx, "p", "prod", "web-1", "1", r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLive(ctx, "p", "prod", "web-9", "1", r.ID); err != nil {
		t.Fatal(err)
	}
	hosts := []string{"web-1", "web-2", "web-3", "web-2"}
	if err := s.SetLiveMany(ctx, "p", "prod", hosts, "2", r.ID); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live(ctx, "p", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 4 || live["web-9"].Release != "1" {
		t.Errorf("Live = %+v", live)
	}
	since := live["web-1"].Since
	for _, h := range hosts {
		if l := live[h]; l.Release != "2" || l.RunID != r.ID || !l.Since.Equal(since) {
			t.Errorf("live[%s] = %+v", h, l)
		}
	}
	if rel, err := s.PreviousRelease(ctx, "p", "prod"); err != nil || rel != "2" {
		t.Errorf("PreviousRelease = %q, %v", rel, err)
	}

	for _, tt := range []struct {
		name                 string
		plan, release, runID string
		hosts                []string
		want                 error
	}{
		{"no plan", "", "3", r.ID, []string{"a"}, store.ErrInvalid},
		{"no release", "p", "", r.ID, []string{"a"}, store.ErrInvalid},
		{"no run", "p", "3", "", []string{"a"}, store.ErrInvalid},
		{"empty host", "p", "3", r.ID, []string{"a", ""}, store.ErrInvalid},
		{"unknown run", "p", "3", "r-missing", []string{"web-1", "web-4"}, store.ErrNotFound},
		{"no hosts", "p", "3", r.ID, nil, nil},
	} {
		err := s.SetLiveMany(ctx, tt.plan, "prod", tt.hosts, tt.release, tt.runID)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: SetLiveMany = %v, want %v", tt.name, err, tt.want)
		}
	}
	// The failures changed nothing.
	if after, err := s.Live(ctx, "p", "prod"); err != nil || len(after) != 4 || after["web-1"].Release != "2" {
		t.Errorf("Live after failed SetLiveMany = %+v, %v", after, err)
	}
}

// BenchmarkAppendEventParallel measures durable appends to one run from many
// goroutines at once (8 per CPU): group commit lets them share fsyncs.
func BenchmarkAppendEventParallel(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		b.Fatal(err)
	}
	e := store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Stage: "web",
		Host: "web-1", Step: "restart", ExitCode: store.ExitCode(0), Duration: time.Second,
		Output: "restarted shop.service\n"}
	commits0 := s.AppendCommits()
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AppendEvent(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if c := s.AppendCommits() - commits0; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "events/commit")
	}
}

// BenchmarkAppendEventHosts measures the writer's cost per event the way a
// large release loads it (bench/engine.sh): 500 appenders (hosts) on 2 CPUs,
// each waiting for its event's commit before the next, so batches are large
// and the time per event is the writer's work on it.
func BenchmarkAppendEventHosts(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		b.Fatal(err)
	}
	e := store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Stage: "web",
		Host: "web-1", Step: "restart", ExitCode: store.ExitCode(0), Duration: time.Second,
		Output: "restarted shop.service\n"}
	commits0 := s.AppendCommits()
	b.SetParallelism(max(1, 500/runtime.GOMAXPROCS(0)))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AppendEvent(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if c := s.AppendCommits() - commits0; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "events/commit")
	}
}

// TestAppendBatchEventFailsAlone: in one batch, an event whose INSERT
// violates a constraint (here a trigger) and an event fenced by a stale
// lease epoch fail alone and take no seq; the events around them, of the
// same run and of another, commit with gapless seqs, and the next batch
// continues from them.
func TestAppendBatchEventFailsAlone(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	r1, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "2"})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := s.AcquireLease(ctx, r2.ID, "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	stale := store.WithLease(ctx, store.Lease{RunID: r2.ID, Holder: "old", Epoch: lease.Epoch + 7})
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse_bad BEFORE INSERT ON events
		WHEN NEW.step = 'bad' BEGIN SELECT RAISE(ABORT, 'bad step'); END`); err != nil {
		t.Fatal(err)
	}

	q := s.AppendsQueued()
	commits0 := s.AppendCommits()
	release := s.HoldWrites()
	type in struct {
		ctx  context.Context
		run  string
		step string
	}
	ins := []in{{ctx, r1.ID, "a"}, {ctx, r1.ID, "bad"}, {ctx, r2.ID, "x"}, {stale, r2.ID, "fenced"},
		{ctx, r1.ID, "b"}, {ctx, r2.ID, "bad"}, {ctx, r2.ID, "y"}}
	var results []<-chan appended
	for i, in := range ins {
		results = append(results, appendAsync(in.ctx, s, store.Event{RunID: in.run, Kind: "step", Action: "started", Host: "h", Step: in.step}))
		waitQueued(t, s, q+int64(i+1))
	}
	release()
	want := []int64{2, 0, 2, 0, 3, 0, 3}
	for i, ch := range results {
		got := <-ch
		switch {
		case ins[i].step == "fenced":
			var fe *store.FencedError
			if !errors.As(got.err, &fe) || fe.Current != lease.Epoch {
				t.Errorf("append %d (stale epoch) = %d, %v, want a FencedError", i, got.seq, got.err)
			}
		case want[i] == 0:
			if got.err == nil || !strings.Contains(got.err.Error(), "bad step") {
				t.Errorf("append %d (refused by the trigger) = %d, %v, want the trigger's error", i, got.seq, got.err)
			}
		case got.err != nil || got.seq != want[i]:
			t.Errorf("append %d = %d, %v, want %d", i, got.seq, got.err, want[i])
		}
	}
	if n := s.AppendCommits() - commits0; n > 2 {
		t.Errorf("%d commits, want at most 2", n)
	}
	if seq, err := s.AppendEvent(ctx, store.Event{RunID: r1.ID, Kind: "step", Action: "started", Host: "h", Step: "c"}); err != nil || seq != 4 {
		t.Errorf("next append to run 1 = %d, %v, want 4", seq, err)
	}
	for run, steps := range map[string]string{r1.ID: "a b c", r2.ID: "x y"} {
		events, err := s.Events(ctx, run, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, e := range events {
			if e.Seq != int64(i+2) {
				t.Errorf("run %s: event %q has seq %d, want %d", run, e.Step, e.Seq, i+2)
			}
			got = append(got, e.Step)
		}
		if strings.Join(got, " ") != steps {
			t.Errorf("run %s: steps %q, want %q", run, got, steps)
		}
	}
}
