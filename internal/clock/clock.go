package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. All methods are safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has elapsed.
	After(d time.Duration) <-chan time.Time
	// NewTimer returns a timer that fires once d has elapsed.
	NewTimer(d time.Duration) Timer
	// Sleep waits for d to elapse or ctx to be done, whichever comes
	// first. It returns ctx.Err() if ctx ended the wait (or was already
	// done), nil otherwise.
	Sleep(ctx context.Context, d time.Duration) error
}

// Timer is a single-shot timer, like *time.Timer (with the Go 1.23
// semantics: after Stop or Reset returns, no stale value is received).
type Timer interface {
	// C returns the channel on which the firing time is delivered.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the timer
	// was still pending.
	Stop() bool
	// Reset makes the timer fire d from now. It reports whether the
	// timer was still pending.
	Reset(d time.Duration) bool
}

// Real returns the system clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, realTimer{time.NewTimer(d)}, d)
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// sleep waits on t for a Sleep of duration d.
func sleep(ctx context.Context, t Timer, d time.Duration) error {
	defer t.Stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
