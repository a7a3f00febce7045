package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// testFollowEvents: a follower sees every event appended after it started,
// in order, whether the store notifies (Follower) or is polled.
func testFollowEvents(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	c, cancel := context.WithTimeout(ctx(t), 30*time.Second)
	defer cancel()
	const n = 20
	got := make(chan store.Event, n+1)
	done := make(chan error, 1)
	go func() {
		done <- store.FollowEvents(c, s, r.ID, 1, 10*time.Millisecond, func(e store.Event) (bool, error) {
			got <- e
			return e.Message != fmt.Sprint(n-1), nil
		})
	}()
	for i := range n {
		if _, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("FollowEvents: %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("FollowEvents ended by its deadline, not by seeing every event")
	}
	close(got)
	i := 0
	for e := range got {
		if e.Message != fmt.Sprint(i) || e.Seq != int64(i+2) {
			t.Errorf("followed event %d = seq %d %q", i, e.Seq, e.Message)
		}
		i++
	}
	if i != n {
		t.Errorf("followed %d events, want %d", i, n)
	}
}
