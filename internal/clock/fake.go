package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only when Advance or Set is called.
// A timer (and After, and Sleep) fires when the fake time reaches or passes
// its deadline; the value sent is the fake time after the move. A timer
// with a zero or negative duration fires at once. Fake is safe for
// concurrent use.
type Fake struct {
	mu      sync.Mutex
	changed *sync.Cond // broadcast when the set of pending timers grows or shrinks
	now     time.Time
	pending []*fakeTimer
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake clock set to t.
func NewFake(t time.Time) *Fake {
	f := &Fake{now: t}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns the channel of a new timer of duration d.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, ch: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schedule(t, d)
	return t
}

// Sleep waits until the fake time has advanced by d or ctx is done.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, f.NewTimer(d), d)
}

// Advance moves the fake time forward by d and fires every timer whose
// deadline has been reached, earliest deadline first.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves the fake time to t (forwards or backwards) and fires every
// timer whose deadline has been reached.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(t)
}

// Waiters returns the number of pending timers: timers, After channels and
// Sleeps that have not fired or been stopped yet.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// BlockUntil waits until at least n timers are pending. Tests call it
// before Advance, to be sure the code under test is already waiting.
func (f *Fake) BlockUntil(n int) {
	_ = f.BlockUntilContext(context.Background(), n)
}

// BlockUntilContext is BlockUntil with a way out: it returns ctx.Err() if
// ctx is done before n timers are pending.
func (f *Fake) BlockUntilContext(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changed.Broadcast()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.pending) < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		f.changed.Wait()
	}
	return nil
}

// setLocked moves the time to t and fires due timers; f.mu is held.
func (f *Fake) setLocked(t time.Time) {
	f.now = t
	sort.SliceStable(f.pending, func(i, j int) bool {
		return f.pending[i].when.Before(f.pending[j].when)
	})
	kept := f.pending[:0]
	fired := false
	for _, ft := range f.pending {
		if ft.when.After(t) {
			kept = append(kept, ft)
			continue
		}
		ft.fire(t)
		fired = true
	}
	clear(f.pending[len(kept):])
	f.pending = kept
	if fired {
		f.changed.Broadcast()
	}
}

// schedule arms t to fire d from now; f.mu is held.
func (f *Fake) schedule(t *fakeTimer, d time.Duration) {
	if d <= 0 {
		t.fire(f.now)
		return
	}
	t.when = f.now.Add(d)
	t.active = true
	f.pending = append(f.pending, t)
	f.changed.Broadcast()
}

// unschedule disarms t and drains its channel; f.mu is held. It reports
// whether t was pending.
func (f *Fake) unschedule(t *fakeTimer) bool {
	select {
	case <-t.ch:
	default:
	}
	if !t.active {
		return false
	}
	t.active = false
	for i, p := range f.pending {
		if p == t {
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			break
		}
	}
	f.changed.Broadcast()
	return true
}

type fakeTimer struct {
	f      *Fake
	ch     chan time.Time
	when   time.Time
	active bool // guarded by f.mu
}

// fire delivers now on the channel; f.mu is held.
func (t *fakeTimer) fire(now time.Time) {
	t.active = false
	select {
	case t.ch <- now:
	default: // a value is already waiting; like a real timer, drop this one
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.unschedule(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.unschedule(t)
	t.f.schedule(t, d)
	return was
}
