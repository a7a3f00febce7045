package server

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// A status answer is given again only while nothing could have changed
// it: the same state and update time, no write through the API, within
// statusTTL.
func TestStatusCacheGivesAgainOnlyWhatIsCurrent(t *testing.T) {
	var c statusCache
	run := store.Run{ID: "r-1", State: store.StateRunning, UpdatedAt: time.Unix(100, 0)}
	if b, _ := c.get(run); b != nil {
		t.Fatal("an empty cache answered")
	}
	_, gen := c.get(run)
	c.put(run, gen, []byte("one"))
	if b, _ := c.get(run); string(b) != "one" {
		t.Fatalf("a fresh answer was not given again: %q", b)
	}
	moved := run
	moved.UpdatedAt = time.Unix(101, 0)
	if b, _ := c.get(moved); b != nil {
		t.Error("given again after the run was updated")
	}
	paused := run
	paused.State = store.StatePaused
	if b, _ := c.get(paused); b != nil {
		t.Error("given again after the run changed state")
	}
	c.wrote()
	if b, _ := c.get(run); b != nil {
		t.Error("given again after a write through the API")
	}
	// Computed while a write went on: never given again.
	_, gen = c.get(run)
	c.wrote()
	c.put(run, gen, []byte("stale"))
	if b, _ := c.get(run); b != nil {
		t.Error("an answer computed before a write finished was given again")
	}
	_, gen = c.get(run)
	c.put(run, gen, []byte("two"))
	c.mu.Lock()
	e := c.m[run.ID]
	e.at = time.Now().Add(-statusTTL - time.Millisecond)
	c.m[run.ID] = e
	c.mu.Unlock()
	if b, _ := c.get(run); b != nil {
		t.Error("given again after statusTTL")
	}
}

// Callers that ask for a status while it is being computed wait for that
// answer: one computation for all of them.
func TestStatusComputedOnceForConcurrentCallers(t *testing.T) {
	defer func(ttl time.Duration) { statusTTL = ttl }(statusTTL)
	statusTTL = time.Hour // a loaded machine must not expire the answer mid-test
	var c statusCache
	run := store.Run{ID: "r-1", State: store.StateRunning, UpdatedAt: time.Unix(100, 0)}
	var mu sync.Mutex
	computed := 0
	release := make(chan struct{})
	var started, wg sync.WaitGroup
	const callers = 8
	started.Add(callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			b, err := c.answer(run, func() ([]byte, error) {
				mu.Lock()
				computed++
				mu.Unlock()
				<-release
				return []byte("status"), nil
			})
			if err != nil || string(b) != "status" {
				t.Errorf("answer %q %v", b, err)
			}
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let them queue behind the first
	close(release)
	wg.Wait()
	if computed != 1 {
		t.Errorf("computed %d times for %d concurrent callers, want 1", computed, callers)
	}
	// An error is not kept: the next caller computes again.
	var c2 statusCache
	if _, err := c2.answer(run, func() ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("the error was not returned")
	}
	if b, _ := c2.answer(run, func() ([]byte, error) { return []byte("ok"), nil }); string(b) != "ok" {
		t.Errorf("after an error: %q, want a fresh computation", b)
	}
}
