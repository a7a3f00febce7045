package secretstest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
)

const cmdTimeout = 90 * time.Second

var golive string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "golive-secrets-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// GOLIVE_SECRETS_BIN runs the suite against another build (to show
	// what an older golive leaks).
	golive = os.Getenv("GOLIVE_SECRETS_BIN")
	if golive == "" {
		golive, err = golivetest.Build(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hooks receives the notify webhooks and keeps their bodies.
type hooks struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.mu.Unlock()
}

func (h *hooks) all() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// runPlan fails on its first host after printing every secret in every way
// that once leaked: whole, re-indented, a 200-byte line cut through one, a
// long one slowly in pieces across writes and past the tail; its backout
// and health check print them too.
const runPlan = `golive: 1
name: secrets
targets:
  hosts:
    h1: {transport: local, dir: h1, roles: [web]}
    h2: {transport: local, dir: h2, roles: [web]}
vars:
  api: "https://api.example.test/v1?key=${{ secrets.JSON }}"
stages:
  - name: web
    on: web
    strategy: {batch: 2}
    steps:
      - name: ok
        run: |
          printf '%s\n' '${{ secrets.JSON }}' '${{ vars.api }}'
          printf '%s\n' '${{ secrets.PEM }}' | sed 's/^/    /'
        backout: |
          printf '%s\n' '${{ secrets.PEM }}'
          head -c 190 /dev/zero | tr '\0' y; printf '%s\n' '${{ secrets.JSON }}'
          exit 1
      - name: leak
        env: {TOKEN: "${{ secrets.ENVTOK }}"}
        run: |
          printf 'env %s\n' "$TOKEN"
          s='${{ secrets.LONG }}'
          printf '%s' "$s" | head -c 1000; sleep 0.3
          printf '%s' "$s" | tail -c +1001 | head -c 3100; sleep 0.3
          printf '%s\n' "$s" | tail -c +4101
          sleep 1.5
          head -c 190 /dev/zero | tr '\0' x; printf '%s\n' '${{ secrets.JSON }}'
          test "$GOLIVE_HOST" = h2
        backout: |
          printf '%s' '${{ secrets.LONG }}' | head -c 2000; sleep 0.2
          printf '%s\n' '${{ secrets.LONG }}' | tail -c +2001
    health:
      - name: prints
        run: printf '%s\n' '${{ secrets.JSON }}' '${{ secrets.PEM }}'
notify:
  - name: ops
    webhook: "HOOK/hooks"
`

// reviewPlan's artifact is a URL whose token is a secret; the server
// refuses it, so the review is no-go and says why.
const reviewPlan = `golive: 1
name: secrets-review
targets:
  hosts:
    h1: {transport: local, dir: h1, roles: [web]}
release:
  artifacts:
    app:
      url: "ART/app-${{ release.version }}.tgz?token=${{ secrets.TOKEN }}&sig=${{ secrets.JSON }}"
stages:
  - name: web
    on: web
    steps:
      - name: ok
        run: "true"
notify:
  - name: ops
    webhook: "HOOK/hooks"
`

func TestSecretsNeverLeave(t *testing.T) {
	secrets := golivetest.Secrets()
	var extra []string
	for k, v := range secrets {
		extra = append(extra, "GOLIVE_SECRET_"+k+"="+v)
	}
	h := &hooks{}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()
	artSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer artSrv.Close()

	dir := t.TempDir()
	store := filepath.Join(dir, "state", "state.db")
	write := func(name, text string) string {
		text = strings.ReplaceAll(text, "HOOK", hookSrv.URL)
		text = strings.ReplaceAll(text, "ART", artSrv.URL)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cli := &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: write("golive.yaml", runPlan), Store: store,
		User: "tester", Timeout: cmdTimeout, ExtraEnv: extra}
	rcli := *cli
	rcli.Plan = write("review.yaml", reviewPlan)

	leaks := golivetest.NewLeaks(secrets)
	check := func(r golivetest.Result) golivetest.Result {
		t.Helper()
		what := "golive " + strings.Join(r.Args, " ")
		leaks.Check(what+" stdout", []byte(r.Stdout))
		leaks.Check(what+" stderr", []byte(r.Stderr))
		return r
	}

	// plan: every secret is *** as a value, whatever its form.
	for _, args := range [][]string{{"plan", "-r", "1.0"}, {"plan", "-r", "1.0", "--json"}} {
		r := check(cli.MustExit(0, args...))
		if !strings.Contains(r.Stdout, "***") {
			t.Errorf("golive %s shows no ***:\n%s", strings.Join(args, " "), r.Stdout)
		}
	}

	// review (and run's own review): the failed download names its URL
	// without the token, on the terminal, in --json and in the no_go hook.
	r := check(rcli.MustExit(3, "review", "-r", "1.0"))
	if !strings.Contains(r.Output(), "403") {
		t.Errorf("review does not say the download failed:\n%s", r)
	}
	check(rcli.MustExit(3, "review", "-r", "1.0", "--json"))
	check(rcli.MustExit(3, "run", "-r", "1.0"))

	// run: sample every process's command line (and the environment of
	// every process but golive itself, which is given the secrets) while
	// the steps work. ENVTOK is in the environment of what its step runs:
	// that is what env: is for.
	envLeaks := golivetest.NewLeaks(map[string]string{"JSON": secrets["JSON"], "PEM": secrets["PEM"], "LONG": secrets["LONG"], "TOKEN": secrets["TOKEN"]})
	p := cli.Start("run", "-r", "1.0", "--ticket", "CHG-1")
	stopCmd := leaks.SampleProcs(20*time.Millisecond, func(int) bool { return false })
	stopEnv := envLeaks.SampleProcs(20*time.Millisecond, func(pid int) bool { return pid != p.Pid() })
	r = p.Wait()
	t.Logf("process samples: %d command lines, %d environments", stopCmd(), stopEnv())
	check(r)
	if r.Code != 4 {
		t.Fatalf("run: want exit 4 (h2 failed, backout of ok failed)\n%s", r)
	}
	run := runID(t, r.Output())

	for _, args := range [][]string{
		{"logs", run}, {"report", run}, {"report", run, "--json"}, {"status", run}, {"status", run, "--json"}, {"history"},
	} {
		r := check(cli.Run(args...))
		if r.Code != 0 {
			t.Errorf("golive %s: exit %d\n%s", strings.Join(args, " "), r.Code, r)
		}
	}
	logs := cli.Run("logs", run).Stdout
	for _, want := range []string{"env ***", "***\n", "xxxxxxxx"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q: the steps did not print what the suite expects\n%s", want, logs)
		}
	}

	leaks.CheckFiles(store, store+"-wal", store+"-shm", filepath.Join(dir, ".golive", "*"))
	envLeaks.CheckFiles()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.all()) < 8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	events := map[string]bool{}
	for i, b := range h.all() {
		leaks.Check(fmt.Sprintf("webhook body %d", i), b)
		for _, e := range []string{"no_go", "failed", "needs_attention", "backout_failed"} {
			if strings.Contains(string(b), `"`+e+`"`) {
				events[e] = true
			}
		}
	}
	for _, e := range []string{"no_go", "failed", "needs_attention"} {
		if !events[e] {
			t.Errorf("no %s webhook arrived (got %d bodies)", e, len(h.all()))
		}
	}
	for _, f := range append(leaks.Found(), envLeaks.Found()...) {
		t.Error(f)
	}
}

// runID is the run id a `golive run` printed ("golive: run ID: ...").
func runID(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "golive: run "); ok {
			if id, _, ok := strings.Cut(rest, ":"); ok && !strings.Contains(id, " ") {
				return id
			}
		}
	}
	t.Fatalf("no run id in\n%s", out)
	return ""
}
