package clock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)

// recv returns the value waiting on c, failing the test if there is none.
func recv(t *testing.T, c <-chan time.Time) time.Time {
	t.Helper()
	select {
	case v := <-c:
		return v
	default:
		t.Fatal("timer has not fired")
		return time.Time{}
	}
}

func noRecv(t *testing.T, c <-chan time.Time) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("timer fired early, at %v", v)
	default:
	}
}

func TestFakeNowAdvanceSet(t *testing.T) {
	f := NewFake(epoch)
	if got := f.Now(); !got.Equal(epoch) {
		t.Fatalf("Now = %v, want %v", got, epoch)
	}
	f.Advance(90 * time.Second)
	if got, want := f.Now(), epoch.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: Now = %v, want %v", got, want)
	}
	later := epoch.Add(48 * time.Hour)
	f.Set(later)
	if got := f.Now(); !got.Equal(later) {
		t.Fatalf("after Set: Now = %v, want %v", got, later)
	}
}

func TestFakeTimerFiresAtDeadline(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(10 * time.Second)
	f.Advance(9 * time.Second)
	noRecv(t, tm.C())
	f.Advance(time.Second) // exactly at the deadline
	if got, want := recv(t, tm.C()), epoch.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("fired with %v, want %v", got, want)
	}
	if tm.Stop() {
		t.Fatal("Stop after firing reported a pending timer")
	}
	if f.Waiters() != 0 {
		t.Fatalf("Waiters = %d after firing, want 0", f.Waiters())
	}
}

func TestFakeAfterAndSetFireInOrder(t *testing.T) {
	f := NewFake(epoch)
	a := f.After(time.Hour)
	b := f.After(time.Minute)
	c := f.After(3 * time.Hour)
	f.Set(epoch.Add(2 * time.Hour))
	recv(t, a)
	recv(t, b)
	noRecv(t, c)
	if f.Waiters() != 1 {
		t.Fatalf("Waiters = %d, want 1", f.Waiters())
	}
}

func TestFakeZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(epoch)
	if got := recv(t, f.After(0)); !got.Equal(epoch) {
		t.Fatalf("After(0) sent %v, want %v", got, epoch)
	}
	recv(t, f.NewTimer(-time.Second).C())
	if err := f.Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
}

func TestFakeStopAndReset(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Minute)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	f.Advance(time.Hour)
	noRecv(t, tm.C())

	if tm.Reset(time.Minute) {
		t.Fatal("Reset of a stopped timer reported true")
	}
	if !tm.Reset(2 * time.Minute) {
		t.Fatal("Reset of a pending timer reported false")
	}
	f.Advance(time.Minute)
	noRecv(t, tm.C())
	f.Advance(time.Minute)
	recv(t, tm.C())

	// A fired but unread value is dropped by Reset, as with Go 1.23 timers.
	tm.Reset(time.Second)
	f.Advance(time.Second)
	tm.Reset(time.Minute)
	noRecv(t, tm.C())
}

func TestFakeSleep(t *testing.T) {
	f := NewFake(epoch)
	done := make(chan error, 1)
	go func() { done <- f.Sleep(context.Background(), 5*time.Minute) }()
	f.BlockUntil(1)
	f.Advance(4 * time.Minute)
	select {
	case err := <-done:
		t.Fatalf("Sleep returned early: %v", err)
	default:
	}
	f.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
}

func TestFakeSleepCancelled(t *testing.T) {
	f := NewFake(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Sleep(ctx, time.Hour) }()
	f.BlockUntil(1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if n := f.Waiters(); n != 0 {
		t.Fatalf("Waiters = %d after cancelled Sleep, want 0", n)
	}
	if err := f.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with a done ctx = %v, want context.Canceled", err)
	}
}

func TestFakeBlockUntilContext(t *testing.T) {
	f := NewFake(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- f.BlockUntilContext(ctx, 2) }()
	f.After(time.Second)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntilContext = %v, want context.Canceled", err)
	}
}

func TestFakeConcurrentSleepers(t *testing.T) {
	f := NewFake(epoch)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- f.Sleep(context.Background(), time.Duration(i+1)*time.Second)
		})
	}
	f.BlockUntil(n)
	for range n {
		f.Advance(time.Second)
		_ = f.Now()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.Waiters() != 0 {
		t.Fatalf("Waiters = %d, want 0", f.Waiters())
	}
}

func TestRealSleep(t *testing.T) {
	c := Real()
	if err := c.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with cancelled ctx = %v", err)
	}
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop of a pending real timer reported false")
	}
	<-c.After(time.Millisecond)
	if c.Now().IsZero() {
		t.Fatal("Now is zero")
	}
}
