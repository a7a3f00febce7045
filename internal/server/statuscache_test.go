package server

import (
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
