package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// MonitorError: a fleet-wide monitor failed failure_limit times in a row.
type MonitorError struct {
	Name, Detail string
	Fails        int
}

func (e *MonitorError) Error() string {
	return fmt.Sprintf("monitor %q failed %d time(s) in a row: %s", e.Name, e.Fails, e.Detail)
}

// monitors watches the plan's monitors from the first step to the end of
// verification: each is evaluated at once and then every interval; when
// one fails failure_limit times in a row, the run is stopped through
// cancel (and backed out). The returned stop ends the watching.
func (x *execution) monitors(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	if len(x.ro.Monitors) == 0 {
		return func() {}
	}
	mctx, mcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, m := range x.ro.Monitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m.Compare != nil {
				x.watchCompare(mctx, m, cancel)
				return
			}
			x.watchMonitor(mctx, m, cancel)
		}()
	}
	return func() { mcancel(); wg.Wait() }
}

func (x *execution) watchMonitor(ctx context.Context, m *rollout.Monitor, cancel context.CancelCauseFunc) {
	fails := 0
	for {
		ok, detail := check.Monitor(ctx, m.URL, m.Query, m.Condition)
		if ctx.Err() != nil {
			return
		}
		ev := store.Event{Kind: store.KindMonitor, Action: store.ActionPassed, Step: m.Name, Message: detail}
		if ok {
			fails = 0
		} else {
			fails++
			ev.Action = store.ActionFailed
			ev.Message = fmt.Sprintf("%s (%d/%d)", detail, fails, m.FailureLimit)
		}
		x.journal(ctx, ev)
		if fails >= m.FailureLimit {
			cancel(&MonitorError{Name: m.Name, Detail: detail, Fails: fails})
			return
		}
		if err := x.e.o.Clock.Sleep(ctx, m.Interval); err != nil {
			return
		}
	}
}
