package server_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
)

// TestServeOnPostgres: with --store postgres://, the server keeps its
// sessions and webhook deliveries in PostgreSQL (a restart forgets
// neither), and streams a run executed by a CLI (woken by the store's
// notifications) to its end, without gaps.
func TestServeOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	e := hookEnv(t)
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	s := e.serve("--tokens", e.tokens, "--store", dsn, e.dir)
	cookie := s.signIn("alice")
	body := []byte(`{"release": "7.0"}`)
	a := s.deliver("shop", hookKey, "pg-1", "", body)
	if a.Status != 202 {
		t.Fatalf("delivery: %d %s", a.Status, a.Raw)
	}
	s.waitState(a.str("id"), "succeeded")
	if a := s.deliver("shop", "wrong-key-0123456789abcdef", "pg-2", "", body); a.Status != 401 {
		t.Fatalf("bad signature: %d", a.Status)
	}
	s.stop()
	if _, err := os.Stat(filepath.Join(e.dir, ".golive")); err == nil {
		t.Error("a SQLite store was made beside the plans: --store is the server's store")
	}
	s = e.serve("--tokens", e.tokens, "--store", dsn, e.dir)
	if who := s.whoIs(cookie); who != "alice" {
		t.Errorf("session after a restart: %s", who)
	}
	if r := s.deliver("shop", hookKey, "pg-1", "", body); r.Status != 409 {
		t.Errorf("replay after a restart: %d %s", r.Status, r.Raw)
	}
	if a := s.must(200, "GET", "/api/v1/audit", "vera", nil); !strings.Contains(a.Raw, "webhook_refused") {
		t.Errorf("audit: %s", a.Raw)
	}
	// A run executed by a CLI, watched over the server.
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	cli := e.command("run", filepath.Join(dir, "golive.yaml"), "-r", "7.1", "--store", dsn)
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cli.ProcessState == nil {
			cli.Process.Kill()
			cli.Wait()
		}
	})
	var id string
	for i := 0; i < 600 && id == ""; i++ {
		runs := s.must(200, "GET", "/api/v1/runs?state=running", "vera", nil)
		if list, _ := runs.Body["runs"].([]any); len(list) > 0 {
			id = list[0].(map[string]any)["id"].(string)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the CLI's run is not seen running")
	}
	got := make(chan []sseMsg, 1)
	go func() { got <- s.stream("/api/v1/runs/"+id+"/events", "vera", "") }()
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	msgs := <-got
	if last := msgs[len(msgs)-1]; last.Event != "end" || !strings.Contains(last.Data, `"succeeded"`) {
		t.Fatalf("last message: %+v", last)
	}
	for i, m := range msgs[:len(msgs)-1] {
		if m.ID != strconv.Itoa(i+1) {
			t.Fatalf("message %d has id %s: a gap", i, m.ID)
		}
	}
	if err := cli.Wait(); err != nil {
		t.Errorf("golive run: %v", err)
	}
}
