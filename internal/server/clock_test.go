package server_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/server"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// TestWindowOpensOnEnginesClock: a run created during a freeze waits; it
// starts by itself once the engine's clock (a fake one here, the only
// fake) passes the freeze's end, and not before. The server runs in this
// process, with real stores and real local steps.
func TestWindowOpensOnEnginesClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	fake := clock.NewFake(at)
	plan := strings.Replace(otherPlan, "stages:", `window:
  timezone: UTC
  freeze:
    - {from: "2030-01-02T09:00", to: "2030-01-02T11:00", reason: test freeze}
stages:`, 1)
	e := newEnv(t, map[string]string{"other": plan})
	tokens, err := server.LoadTokens(e.tokens, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	svc := &release.Service{
		OpenStore: func(ctx context.Context, planFile string, m release.StoreMode) (store.Store, error) {
			return sqlite.Open(ctx, filepath.Join(filepath.Dir(planFile), ".golive", "state.db"))
		},
		Clock: fake,
	}
	ready := make(chan string, 1)
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", Paths: []string{e.dir}, Tokens: tokens, Service: svc,
		WaitingEvery: 50 * time.Millisecond, DrainTimeout: 5 * time.Second, Ready: func(a string) { ready <- a }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Error("the server did not stop")
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not listen")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, url: "http://" + addr}
	run := p.must(201, "POST", "/api/v1/runs", "root", map[string]any{"plan": "other", "release": "1.0"})
	id := run.str("id")
	if run.str("state") != "waiting" || !strings.Contains(run.str("reason"), "freeze") {
		t.Fatalf("want a run waiting for the freeze to end: %s", run.Raw)
	}
	// The waiting runs are checked every 50ms: many checks on a clock
	// still inside the freeze start nothing.
	fake.Advance(59 * time.Minute)
	time.Sleep(500 * time.Millisecond)
	if a := p.must(200, "GET", "/api/v1/runs/"+id, "vera", nil); a.str("state") != "waiting" {
		t.Fatalf("started at %s, inside the freeze: %s", fake.Now(), a.Raw)
	}
	fake.Advance(2 * time.Minute)
	p.waitState(id, "succeeded") // nobody called resume
}
