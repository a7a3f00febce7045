package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBackoutUnhealthyNeedsAttention: release 1.0's files were removed by
// hand on h1, so its backout (exit 0) cannot bring 1.0 back: the run exits
// 4, h1 needs attention naming the check, in the output, status, the
// report and the needs_attention notification; h2 is backed out and
// verified healthy at 1.0. Once 1.0 is back on h1, `golive backout last`
// verifies h1 again and finishes.
func TestBackoutUnhealthyNeedsAttention(t *testing.T) {
	var mu sync.Mutex
	var hooks []struct {
		Event          string
		NeedsAttention []string `json:"needs_attention"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Event          string
			NeedsAttention []string `json:"needs_attention"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		hooks = append(hooks, p)
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	plan := `golive: 1
name: verified
targets:
  hosts:
    h1: {transport: local, dir: h1, roles: [web]}
    h2: {transport: local, dir: h2, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: |
          mkdir -p "releases/$GOLIVE_RELEASE" && echo "$GOLIVE_RELEASE" > current
          test "$GOLIVE_RELEASE" != bad
        backout: 'if [ -d "releases/$GOLIVE_PREVIOUS" ]; then echo "$GOLIVE_PREVIOUS" > current; else rm -f current; fi'
    health:
      - name: serves
        run: 'test -d "releases/$(cat current)" && test "$(cat current)" = "$GOLIVE_RELEASE"'
        timeout: 1s
        interval: 100ms
notify:
  - {name: ops, webhook: "` + srv.URL + `", on: [needs_attention]}
`
	file := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(file, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	golive := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append(args, "-f", file), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
		return code, out.String() + errb.String()
	}
	if code, out := golive("run", "-r", "1.0"); code != 0 {
		t.Fatalf("run 1.0: exit %d\n%s", code, out)
	}
	if err := os.RemoveAll(filepath.Join(dir, "h1", "releases", "1.0")); err != nil {
		t.Fatal(err)
	}
	code, out := golive("run", "-r", "bad")
	if code != ExitIncomplete {
		t.Fatalf("run bad with 1.0 gone from h1: exit %d, want 4\n%s", code, out)
	}
	for _, w := range []string{`NEEDS ATTENTION: h1: backed out in stage web, but release 1.0 is not healthy on it: check "serves" on h1`, "backed out, verified healthy at 1.0", "backed out, NOT healthy at 1.0"} {
		if !strings.Contains(out, w) {
			t.Errorf("run output lacks %q\n%s", w, out)
		}
	}
	code, out = golive("status", "last", "--json")
	var st struct {
		State               string
		NeedsAttention      []string          `json:"needs_attention"`
		BackoutVerification map[string]string `json:"backout_verification"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status --json: exit %d, %v\n%s", code, err, out)
	}
	if st.State != "backout_failed" || len(st.NeedsAttention) != 1 || !strings.HasPrefix(st.NeedsAttention[0], "h1: ") ||
		st.BackoutVerification["h2"] != "backed out, verified healthy at 1.0" || !strings.HasPrefix(st.BackoutVerification["h1"], "backed out, NOT healthy at 1.0") {
		t.Errorf("status --json: %+v", st)
	}
	if _, out = golive("status", "last"); !strings.Contains(out, "h2: backed out, verified healthy at 1.0") {
		t.Errorf("status does not say h2 was verified healthy at 1.0\n%s", out)
	}
	if _, out = golive("report", "last"); !strings.Contains(out, "- h2: backed out, verified healthy at 1.0") || !strings.Contains(out, "- h1: backed out, NOT healthy at 1.0") {
		t.Errorf("the report does not say how each host's backout was verified\n%s", out)
	}
	mu.Lock()
	if len(hooks) != 1 || hooks[0].Event != "needs_attention" || len(hooks[0].NeedsAttention) != 1 || !strings.Contains(hooks[0].NeedsAttention[0], `check "serves" on h1`) {
		t.Errorf("webhook got %+v, want one needs_attention naming h1's check", hooks)
	}
	mu.Unlock()

	// The environment stays locked; a person puts 1.0 back on h1.
	if code, out := golive("run", "-r", "1.1"); code != ExitNoGo {
		t.Errorf("run 1.1 while the backout needs attention: exit %d, want 3\n%s", code, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "h1", "releases", "1.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "h1", "current"), []byte("1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = golive("backout", "last")
	if code != ExitOK || !strings.Contains(out, "BACKED_OUT") {
		t.Fatalf("backout last after the fix: exit %d, want the run backed out\n%s", code, out)
	}
	if _, out = golive("status", "last"); !strings.Contains(out, "h1: backed out, verified healthy at 1.0") {
		t.Errorf("status after the second backout does not say h1 is verified healthy at 1.0\n%s", out)
	}
}
