package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// failingStore is a store whose writes start failing (as on a full disk)
// once failing is set; reads go on working.
type failingStore struct {
	store.Store
	failing atomic.Bool
}

var errDiskFull = errors.New("database or disk is full (13)")

func (s *failingStore) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	if s.failing.Load() {
		return 0, errDiskFull
	}
	return s.Store.AppendEvent(ctx, e)
}

func (s *failingStore) UpdateRunState(ctx context.Context, id string, from []store.State, to store.State, reason string) (store.Run, error) {
	if s.failing.Load() {
		return store.Run{}, errDiskFull
	}
	return s.Store.UpdateRunState(ctx, id, from, to, reason)
}

// The store fails while h2's step runs and h3's step sleeps beside it:
// the run stops with a *engine.StoreError naming the run (not a bare
// error the CLI takes for a usage error), h3's step is terminated, and the
// run is left running and locked for resume or backout.
func TestStoreFailureMidRunLeavesRunResumable(t *testing.T) {
	f := newFixture(t, 3, `stages:
  - name: web
    on: all
    strategy: {canary: 1, batch: 2, max_failed: 0}
    steps:
      - name: work
        run: |
          if [ "$GOLIVE_HOST" = h2 ]; then while [ ! -e @ROOT@/go ]; do sleep 0.02; done; fi
          if [ "$GOLIVE_HOST" = h3 ]; then touch @ROOT@/h3-started; sleep 30; touch @ROOT@/h3-late; fi
          echo done
`)
	fs := &failingStore{Store: f.st}
	e := f.engine(func(o *engine.Options) { o.Store = fs })
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(f.root, "h3-started")); err == nil {
				fs.failing.Store(true)
				os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
	var se *engine.StoreError
	if !errors.As(err, &se) {
		t.Fatalf("Start: %v (%T), want a *engine.StoreError", err, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the run went on for %v: h3's step was not terminated", took)
	}
	if se.RunID == "" || !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), se.RunID) {
		t.Errorf("error %q does not name the run and the store's error", err)
	}
	if out == nil || out.Run.ID != se.RunID {
		t.Fatalf("outcome %+v does not name the run %s", out, se.RunID)
	}
	if _, err := os.Stat(filepath.Join(f.root, "h3-late")); err == nil {
		t.Error("h3's step went on after the store failed")
	}
	r, err := f.st.GetRun(context.Background(), se.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != store.StateRunning {
		t.Errorf("run left %s, want running (as the store last recorded it)", r.State)
	}
	l, err := f.st.GetLock(context.Background(), "t", "")
	if err != nil || l.RunID != se.RunID {
		t.Errorf("lock %+v, %v: want it held by the run", l, err)
	}
}
