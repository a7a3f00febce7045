package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/golivetest"
)

// Limits that only keep a hung golive from hanging the package; no test
// asserts anything about them.
const (
	cmdTimeout  = 150 * time.Second // one golive command that should end by itself
	waitTimeout = 60 * time.Second  // waiting for a marker
	pollEvery   = 50 * time.Millisecond
	nHosts      = 5
)

// golive is the binary TestMain built. distDir holds the releases of the
// quickstart demo server it packed (demo-V.tar.gz, as build.sh makes them:
// the binary `demo` and a VERSION file); releases maps V to its sha256.
var (
	golive   string
	distDir  string
	releases = map[string]string{}
	packed   = []string{"1.0", "1.1"}
)

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	if why := fleet.Unavailable(); why != "" {
		// Every test skips with this message through fleet.Require.
		return m.Run()
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Println("e2e: skipped: `go` is not on PATH, so golive and the demo cannot be built")
		return 0
	}
	dir, err := os.MkdirTemp("", "golive-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if golive, err = golivetest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	demo := filepath.Join(dir, "pkg", "demo")
	if err := os.MkdirAll(filepath.Dir(demo), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for _, b := range []struct{ out, ldflags, pkg string }{
		{demo, "-s -w", "github.com/golive-dev/golive/examples/quickstart/app"}, // as build.sh
	} {
		build := exec.Command(goTool, "build", "-trimpath", "-ldflags", b.ldflags, "-o", b.out, b.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n", b.pkg, err)
			return 1
		}
	}
	// Pack with tar and sha256sum, as build.sh does: compressing in this
	// (race-instrumented) process takes seconds per release.
	distDir = filepath.Join(dir, "dist")
	if err := os.MkdirAll(distDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for _, v := range packed {
		name := "demo-" + v + ".tar.gz"
		pack := exec.Command("sh", "-c", `set -e; printf '%s\n' "$1" >VERSION; tar -czf "$2" demo VERSION; sha256sum "$2"`, "pack", v, filepath.Join(distDir, name))
		pack.Dir = filepath.Dir(demo)
		pack.Stderr = os.Stderr
		out, err := pack.Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) == 0 || len(f[0]) != 64 {
			fmt.Fprintf(os.Stderr, "e2e: packing %s: %v: %s\n", name, err, out)
			return 1
		}
		releases[v] = f[0]
	}
	return m.Run()
}

// world is one test's fleet, plan directory and state store.
type world struct {
	t     *testing.T
	f     *fleet.Fleet
	dir   string // golive.yaml, inventory.ini, dist/
	plan  string
	store string
	known string // the known_hosts golive uses (beside the plan)
	start time.Time
	cli   *golivetest.CLI
}

// newWorld starts a fleet of nHosts hosts and writes the plan, inventory
// and sync directories for it.
func newWorld(t *testing.T) *world {
	t.Helper()
	start := time.Now()
	f := fleet.Require(t, nHosts)
	t.Logf("fleet %s (%s) up in %v", f.Prefix, f.Subnet, time.Since(start).Round(time.Millisecond))
	dir := t.TempDir()
	w := &world{t: t, f: f, dir: dir, plan: filepath.Join(dir, "golive.yaml"),
		store: filepath.Join(dir, "state", "state.db"), known: filepath.Join(dir, "known_hosts"), start: start}
	w.cli = &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: w.plan, Store: w.store, User: "e2e", Timeout: cmdTimeout}
	t.Cleanup(func() { t.Logf("%s took %v", t.Name(), time.Since(w.start).Round(time.Millisecond)) })
	plan, err := os.ReadFile(filepath.Join("testdata", "ssh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var inv strings.Builder
	inv.WriteString("[web]\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&inv, "%s ansible_host=%s\n", h.Name, h.Address)
		if err := os.MkdirAll(filepath.Join(h.SrvDir, "sync"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{filepath.Dir(w.store), filepath.Join(dir, "dist")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, w.plan, plan)
	key, err := os.ReadFile(f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, w.known, known)
	writeFile(t, filepath.Join(dir, "inventory.ini"), []byte(inv.String()))
	return w
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// build puts the releases TestMain packed into the plan's dist/.
func (w *world) build(versions ...string) {
	w.t.Helper()
	var sums strings.Builder
	for _, v := range versions {
		name := "demo-" + v + ".tar.gz"
		sum, ok := releases[v]
		if !ok {
			w.t.Fatalf("release %s was not packed by TestMain (versions: %v)", v, packed)
		}
		if err := os.Link(filepath.Join(distDir, name), filepath.Join(w.dir, "dist", name)); err != nil {
			w.t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, name)
	}
	writeFile(w.t, filepath.Join(w.dir, "dist", "SHA256SUMS"), []byte(sums.String()))
}

// result is how a finished golive command ended; proc is golive running
// in the background.
type (
	result = golivetest.Result
	proc   = golivetest.Proc
)

// golive runs golive with args (plus -f and --store) to its end.
func (w *world) golive(args ...string) result {
	w.t.Helper()
	return w.cli.Run(args...)
}

// mustExit runs golive and fails the test unless it exits with code.
func (w *world) mustExit(code int, args ...string) result {
	w.t.Helper()
	return w.cli.MustExit(code, args...)
}

// startGolive starts golive with args (plus -f and --store) without
// waiting; the test's cleanup kills it if it still runs.
func (w *world) startGolive(args ...string) *proc {
	w.t.Helper()
	return w.cli.Start(args...)
}

// release runs `golive run -r v` and fails the test unless it exits 0
// and every host then serves v.
func (w *world) release(v string) result {
	w.t.Helper()
	r := w.mustExit(0, "run", "-r", v)
	w.assertServing(v)
	return r
}

// sync is host i's sync directory as the controller sees it.
func (w *world) sync(i int) string { return filepath.Join(w.f.Hosts[i].SrvDir, "sync") }

// arm makes the next run of step on host i stop for secs seconds at its
// synchronisation point (after writing sync/at-STEP).
func (w *world) arm(i int, step string, secs int) {
	w.t.Helper()
	writeFile(w.t, filepath.Join(w.sync(i), "arm-"+step), []byte(strconv.Itoa(secs)))
}

// failAt makes every run of step on host i fail after doing its work.
func (w *world) failAt(i int, step string) {
	w.t.Helper()
	writeFile(w.t, filepath.Join(w.sync(i), "fail-"+step), nil)
}

// waitMarker waits until step on host i has reached its synchronisation
// point, failing if golive exits first, and returns the pid of the step's
// shell on the host.
func (w *world) waitMarker(p *proc, i int, step string) int {
	w.t.Helper()
	marker := filepath.Join(w.sync(i), "at-"+step)
	deadline := time.Now().Add(waitTimeout)
	for {
		if b, err := os.ReadFile(marker); err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				w.t.Fatalf("marker %s: %v", marker, err)
			}
			w.t.Logf("step %s on %s is at its synchronisation point (pid %d on the host)", step, w.f.Hosts[i].Name, pid)
			return pid
		}
		if p.Exited() {
			w.t.Fatalf("golive exited while the test waited for %s on %s\n%s", step, w.f.Hosts[i].Name, p.Result())
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("step %s on %s did not reach its synchronisation point within %v\n%s", step, w.f.Hosts[i].Name, waitTimeout, p.Result())
		}
		time.Sleep(pollEvery)
	}
}

// health asks host i for /health from the test process: the body, or an
// error.
func (w *world) health(i int) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + w.f.Hosts[i].Address + ":8080/health")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// assertServing fails for every host that does not answer /health with
// "ok v", or whose current link does not point at releases/v.
func (w *world) assertServing(v string) {
	w.t.Helper()
	for i, h := range w.f.Hosts {
		w.assertHostServing(i, v)
		if got, err := os.Readlink(filepath.Join(h.SrvDir, "demo", "current")); err != nil || got != "releases/"+v {
			w.t.Errorf("%s: /srv/demo/current -> %q (%v), want releases/%s", h.Name, got, err, v)
		}
	}
}

func (w *world) assertHostServing(i int, v string) {
	w.t.Helper()
	got, err := w.health(i)
	if err != nil {
		w.t.Errorf("%s (%s): GET /health: %v", w.f.Hosts[i].Name, w.f.Hosts[i].Address, err)
	} else if got != "ok "+v {
		w.t.Errorf("%s (%s): GET /health = %q, want %q", w.f.Hosts[i].Name, w.f.Hosts[i].Address, got, "ok "+v)
	}
}

// assertNoRelease fails for every host that still has files of release v.
func (w *world) assertNoRelease(v string) {
	w.t.Helper()
	for _, h := range w.f.Hosts {
		for _, p := range []string{"releases/" + v, "releases/" + v + ".tar.gz"} {
			if _, err := os.Lstat(filepath.Join(h.SrvDir, "demo", p)); err == nil {
				w.t.Errorf("%s: /srv/demo/%s is left after release %s was backed out", h.Name, p, v)
			}
		}
	}
}

// status is `golive status RUN --json`.
type status struct {
	ID             string            `json:"id"`
	Release        string            `json:"release"`
	Previous       string            `json:"previous"`
	State          string            `json:"state"`
	Reason         string            `json:"reason"`
	Hosts          map[string]string `json:"hosts"`
	NeedsAttention []string          `json:"needs_attention"`
	Lock           *struct {
		Holder string `json:"holder"`
	} `json:"lock"`
	ControllerGone bool `json:"controller_gone"`
	// host -> "backed out, verified healthy at 1.0" (see docs/operations.md)
	BackoutVerification map[string]string `json:"backout_verification"`
}

func (w *world) status(run string) status {
	w.t.Helper()
	r := w.mustExit(0, "status", run, "--json")
	var s status
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		w.t.Fatalf("status --json: %v\n%s", err, r)
	}
	return s
}

// assertState fails unless the run is in state.
func (w *world) assertState(run, state string) status {
	w.t.Helper()
	s := w.status(run)
	if s.State != state {
		w.t.Errorf("run %s is %q (%s), want %q\n%s", s.ID, s.State, s.Reason, state, w.logsOf(s.ID))
	}
	return s
}

func (w *world) logsOf(run string) string {
	r := w.golive("logs", run)
	return "--- golive logs " + run + ":\n" + r.Stdout + r.Stderr
}

// summary parses the end-of-run per-host table (HOST LIVE NOW TOOK):
// host -> release live now.
func summary(out string) map[string]string {
	rows := map[string]string{}
	in := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "HOST" && f[1] == "LIVE" && f[2] == "NOW":
			in = true
		case in && len(f) >= 3:
			rows[f[0]] = f[1]
		default:
			in = false
		}
	}
	return rows
}

// hostKeyFingerprints returns the SHA256 fingerprint of each host's key
// in the fleet's known_hosts, by address.
func (w *world) hostKeyFingerprints() map[string]string {
	w.t.Helper()
	b, err := os.ReadFile(w.f.KnownHosts)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil {
			w.t.Fatalf("known_hosts %q: %v", line, err)
		}
		key, err := gossh.ParsePublicKey(raw)
		if err != nil {
			w.t.Fatalf("known_hosts %q: %v", line, err)
		}
		out[f[0]] = gossh.FingerprintSHA256(key)
	}
	return out
}

// alive reports whether pid runs (and is not a zombie) on host i.
func (w *world) alive(i, pid int) bool {
	out, err := w.f.Exec(context.Background(), i, fmt.Sprintf(`grep -qs '^[0-9]* ([^)]*) [^ZX]' /proc/%d/stat && echo yes || true`, pid))
	if err != nil {
		w.t.Fatalf("%v", err)
	}
	return strings.TrimSpace(out) == "yes"
}
