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

// TestRunNotifies: a run tells its webhook what happens, in order, and a
// failing release says failed, then backed_out.
func TestRunNotifies(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Event, Release string }
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		got = append(got, p.Event+"@"+p.Release)
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	plan := `golive: 1
name: hooked
targets:
  hosts:
    h1: {transport: local, dir: h1, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: 'test "$GOLIVE_RELEASE" != bad && echo $GOLIVE_RELEASE > current'
        backout: 'if [ -n "$GOLIVE_PREVIOUS" ]; then echo $GOLIVE_PREVIOUS > current; else rm -f current; fi'
    health:
      - run: test -f current
notify:
  - name: ops
    webhook: "` + srv.URL + `/hooks/${{ secrets.HOOK }}"
`
	file := filepath.Join(dir, "golive.yaml")
	os.WriteFile(file, []byte(plan), 0o644)
	t.Setenv("GOLIVE_SECRET_HOOK", "T0K3N")
	run := func(release string) int {
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"run", "-f", file, "-r", release}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
		if strings.Contains(out.String()+errb.String(), "T0K3N") {
			t.Errorf("the webhook's secret was printed:\n%s%s", out.String(), errb.String())
		}
		return code
	}
	if code := run("1.0"); code != 0 {
		t.Fatalf("run 1.0: exit %d", code)
	}
	if code := run("bad"); code != 1 {
		t.Fatalf("run bad: exit %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "go@1.0 started@1.0 succeeded@1.0 go@bad started@bad failed@bad backed_out@bad"
	if strings.Join(got, " ") != want {
		t.Errorf("webhook got\n %s\nwant\n %s", strings.Join(got, " "), want)
	}
}
