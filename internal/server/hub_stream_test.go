package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

func newTestFollower() *follower {
	return &follower{wake: make(chan struct{}), poke: make(chan struct{}, 1)}
}

func testEvent(seq int64) encoded {
	return encode(store.Event{RunID: "r-1", Seq: seq, Time: time.Now(), Kind: store.KindStep, Action: "succeeded", Host: fmt.Sprintf("web%d", seq)})
}

// recorder is a stream's writer: it keeps what was written, counts the
// writes and flushes, and can be held (a slow client) until released.
type recorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	flushes int
	hold    chan struct{} // non-nil: each Write waits until it is closed
	entered chan struct{} // a Write began (buffered)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.entered != nil {
		select {
		case r.entered <- struct{}{}:
		default:
		}
	}
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	return r.buf.Write(p)
}

func (r *recorder) flush() error {
	r.mu.Lock()
	r.flushes++
	r.mu.Unlock()
	return nil
}

// ids are the seqs of the frames in b, in order.
func ids(t *testing.T, b string) []int64 {
	t.Helper()
	var out []int64
	for _, fr := range strings.Split(strings.TrimSuffix(b, "\n\n"), "\n\n") {
		if fr == "" || strings.HasPrefix(fr, ":") {
			continue
		}
		var seq int64
		if _, err := fmt.Sscanf(fr, "id: %d\nevent: journal\n", &seq); err != nil {
			t.Fatalf("frame %q: %v", fr, err)
		}
		out = append(out, seq)
	}
	return out
}

func stream(f *follower, w *recorder, done chan<- int64) {
	last, ok := f.streamTo(context.Background(), 0, w, w.flush, nil, func([]encoded) {})
	if !ok {
		last = -1
	}
	done <- last
}

// A stream that fell behind writes everything pending with one Write of
// the shared frames and one flush; every event reaches it exactly once,
// in order, byte for byte as encoded.
func TestStreamCoalescesWhatIsPending(t *testing.T) {
	f := newTestFollower()
	f.add([]encoded{testEvent(1)})
	w := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	done := make(chan int64, 1)
	go stream(f, w, done)
	select {
	case <-w.entered: // writing event 1, held
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not write event 1")
	}
	var want bytes.Buffer
	want.Write(testEventFrame(f, 1))
	for seq := int64(2); seq <= 50; seq++ {
		f.add([]encoded{testEvent(seq)})
	}
	for i := int64(1); i < 50; i++ {
		want.Write(testEventFrame(f, i+1))
	}
	close(w.hold)
	f.mu.Lock()
	f.done = true
	f.wakeLocked()
	f.mu.Unlock()
	select {
	case last := <-done:
		if last != 50 {
			t.Fatalf("stream ended at %d, want 50", last)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	got := w.buf.String()
	if seqs := ids(t, got); len(seqs) != 50 || seqs[0] != 1 || seqs[49] != 50 {
		t.Fatalf("seqs %v, want 1..50 once each", seqs)
	}
	if got != want.String() {
		t.Fatal("the stream is not the frames as encoded, in order")
	}
	if w.writes != 2 {
		t.Errorf("%d writes for event 1 then 49 pending events, want 2", w.writes)
	}
}

func testEventFrame(f *follower, seq int64) []byte {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ev := f.events[seq-1]
	return f.log[ev.off:ev.end]
}

// A stream whose client does not read holds back only itself: the others
// get every event while it is stuck, and it gets them all, in order,
// once it reads again.
func TestSlowStreamDoesNotBlockOthers(t *testing.T) {
	f := newTestFollower()
	slow := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	fast := []*recorder{{}, {}, {}}
	done := make(chan int64, 4)
	go stream(f, slow, done)
	for _, w := range fast {
		go stream(f, w, done)
	}
	for seq := int64(1); seq <= 200; seq++ {
		f.add([]encoded{testEvent(seq)})
		if seq%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow stream never wrote")
	}
	f.mu.Lock()
	f.done = true
	f.wakeLocked()
	f.mu.Unlock()
	for range fast {
		select {
		case last := <-done:
			if last != 200 {
				t.Fatalf("a stream ended at %d, want 200", last)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a fast stream waited for the slow one")
		}
	}
	for i, w := range fast {
		if seqs := ids(t, w.buf.String()); len(seqs) != 200 || seqs[199] != 200 {
			t.Fatalf("fast stream %d: %d events, want 200", i, len(seqs))
		}
	}
	close(slow.hold)
	select {
	case last := <-done:
		if last != 200 {
			t.Fatalf("the slow stream ended at %d, want 200", last)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow stream did not end once released")
	}
	seqs := ids(t, slow.buf.String())
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("slow stream: %v, want 1..200 in order once each", seqs)
		}
	}
	if len(seqs) != 200 {
		t.Fatalf("slow stream: %d events, want 200", len(seqs))
	}
}

// Events that come within wakeGap of a wake-up wake the subscribers
// once wakeGap has passed: none is left waiting for a later event.
func TestWakeUpsBatchedNoneLost(t *testing.T) {
	defer func(g time.Duration) { wakeGap = g }(wakeGap)
	wakeGap = 50 * time.Millisecond
	f := newTestFollower()
	_, _, wake := f.after(0)
	f.add([]encoded{testEvent(1)})
	select {
	case <-wake: // the first after a quiet moment: at once
	default:
		t.Fatal("the first event did not wake the subscribers at once")
	}
	_, _, wake = f.after(1)
	f.add([]encoded{testEvent(2)})
	f.add([]encoded{testEvent(3)})
	select {
	case <-wake:
		// A loaded machine may have taken wakeGap between the adds.
	default:
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Fatal("events 2 and 3 never woke the subscribers")
		}
	}
	if got, _, _ := f.after(1); len(got) != 2 {
		t.Fatalf("after(1) = %v, want [2 3]", seqs(got))
	}
}

// A write error or the client going away ends the stream without done.
func TestStreamEndsOnWriteErrorAndCancel(t *testing.T) {
	f := newTestFollower()
	f.add([]encoded{testEvent(1)})
	if _, ok := f.streamTo(context.Background(), 0, failWriter{}, func() error { return nil }, nil, func([]encoded) {}); ok {
		t.Error("a failed write ended the stream as done")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if last, ok := f.streamTo(ctx, 0, io.Discard, func() error { return nil }, nil, func([]encoded) {}); ok || last != 1 {
		t.Errorf("canceled: last %d done %v, want 1 false", last, ok)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// A run executed here that is terminal is followed until the server's
// goroutine executing it is done: what it journals after its last state
// (the lock released) still reaches the streams, however late it comes.
func TestFollowerWaitsForTheRunsGoroutine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.CreateRun(ctx, store.Run{Plan: "p", Release: "1.0", PlanHash: "h", Requester: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendEvent(ctx, store.Event{RunID: run.ID, Kind: store.KindStep, Action: "succeeded", Host: "web1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateRunState(ctx, run.ID, []store.State{run.State}, store.StateSucceeded, "done"); err != nil {
		t.Fatal(err)
	}
	s := &Server{ctx: ctx, metrics: newMetrics(), svc: &release.Service{OpenStore: func(ctx context.Context, _ string, _ release.StoreMode) (store.Store, error) {
		return sqlite.Open(ctx, path)
	}}}
	s.runs = newRunner(s)
	s.hub = newHub(s)
	s.runs.track(run.ID, &Plan{Name: "p", File: "plan.yaml"}, "", store.StateSucceeded)
	f := s.hub.subscribe(run.ID, "plan.yaml")
	defer s.hub.unsubscribe(run.ID, f)
	// Well past the 300ms a run executed elsewhere gets: still followed.
	time.Sleep(time.Second)
	if _, done, _ := f.after(1 << 40); done {
		t.Fatal("the follower ended while the run's goroutine was still at work")
	}
	late, err := st.AppendEvent(ctx, store.Event{RunID: run.ID, Kind: store.KindRun, Action: "lock_released"})
	if err != nil {
		t.Fatal(err)
	}
	s.runs.untrack(run.ID)
	var last int64
	for {
		events, done, wake := f.after(last)
		if len(events) > 0 {
			last = events[len(events)-1].seq
		}
		if done {
			if last != late {
				t.Fatalf("the follower ended at seq %d, before the late event %d", last, late)
			}
			return
		}
		select {
		case <-wake:
		case <-ctx.Done():
			f.mu.RLock()
			err := f.err
			f.mu.RUnlock()
			t.Fatalf("the follower did not end once the run's goroutine was done (%v)", err)
		}
	}
}
