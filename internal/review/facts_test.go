package review_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/ui"
)

// counting is a transport that counts the commands run per host.
type counting struct {
	tr   transport.Transport
	mu   sync.Mutex
	runs map[string]int
}

func (c *counting) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	conn, err := c.tr.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: c, host: h.Name}, nil
}

type countingConn struct {
	transport.Conn
	c    *counting
	host string
}

func (cc *countingConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	cc.c.mu.Lock()
	cc.c.runs[cc.host]++
	cc.c.mu.Unlock()
	return cc.Conn.Run(ctx, cmd)
}

// factRig is a plan of local hosts h1 and h2 with only fact probes.
type factRig struct {
	root  string
	plan  *load.Result
	ro    *rollout.Rollout
	st    *sqlite.Store
	runID string
}

func newFactRig(t *testing.T, preflight string) *factRig {
	t.Helper()
	root := t.TempDir()
	text := strings.NewReplacer("@ROOT@", root, "@PREFLIGHT@", preflight).Replace(`golive: 1
name: facts
targets:
  defaults: {transport: local}
  current: {run: 'cat current 2>/dev/null || true'}
  hosts:
    h1: {dir: @ROOT@/h1, roles: [web]}
    h2: {dir: @ROOT@/h2, roles: [web]}
preflight:
@PREFLIGHT@
stages:
  - name: web
    on: web
    steps:
      - {name: switch, run: 'echo ${{ release.version }} > current', backout: 'true'}
    health:
      - {name: ok, run: 'true'}
`)
	for _, h := range []string{"h1", "h2"} {
		mustWrite(t, filepath.Join(root, h, "current"), []byte("1.0\n"))
	}
	file := filepath.Join(root, "golive.yaml")
	mustWrite(t, file, []byte(text))
	res, err := load.Load(load.Options{File: file})
	if err != nil || res.Diags.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Diags.Errors())
	}
	r := &factRig{root: root, plan: res}
	if r.ro, err = rollout.Build(rollout.Input{Plan: res.Plan, Release: "2.0", Previous: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if r.st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	run, err := r.st.CreateRun(context.Background(), store.Run{Plan: "facts", Release: "1.0", State: store.StateSucceeded, Requester: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	r.runID = run.ID
	for _, h := range []string{"h1", "h2"} {
		if err := r.st.SetLive(context.Background(), "facts", "", h, "1.0", run.ID); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *factRig) review(t *testing.T, tr transport.Transport) *review.Report {
	t.Helper()
	trs := map[string]transport.Transport{"local": tr}
	eng := (&rig{st: r.st, root: r.root}).engine()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return review.Review(ctx, review.Input{Plan: r.plan.Plan, Rollout: r.ro, Store: r.st, Engine: eng,
		Dialer: &check.Dialer{Transports: trs, PlanDir: r.root}, Now: now})
}

// TestFactsOneScriptPerHost: all the facts of a host and targets.current
// are gathered by one command on one connection, and nothing changes.
func TestFactsOneScriptPerHost(t *testing.T) {
	r := newFactRig(t, `  - {name: sh, on: web, command: {name: sh}}
  - {name: root, on: web, user: root}
  - {name: mem, on: web, memory: {available: 1MiB}}
  - {name: disk, on: web, disk: {path: /, free: 1KiB}}
  - {name: port, on: web, port: {number: 1, state: free}}
  - {name: conf, on: h1, file: {path: /etc/golive-no-such-file, exists: false}}`)
	before := snapshot(t, r.root)
	tr := &counting{tr: &local.Transport{}, runs: map[string]int{}}
	rep := r.review(t, tr)
	if !rep.Go {
		t.Fatalf("no-go: %v", rep.Reasons)
	}
	if tr.runs["h1"] != 1 || tr.runs["h2"] != 1 {
		t.Errorf("commands per host: %v, want one each", tr.runs)
	}
	facts, drift := 0, 0
	for _, it := range rep.Items {
		switch it.Kind {
		case "facts":
			facts++
			if it.Found == "" || it.Want == "" {
				t.Errorf("item without found/want: %+v", it)
			}
		case "drift":
			drift++
			if it.Found != "1.0" || it.Want != "1.0" || it.RecordedBy != r.runID {
				t.Errorf("drift: %+v", it)
			}
		}
	}
	if facts != 11 || drift != 2 {
		t.Errorf("%d fact items, %d drift items; want 11 and 2", facts, drift)
	}
	if after := snapshot(t, r.root); after != before {
		t.Errorf("the review changed the hosts:\n%s\n---\n%s", before, after)
	}
}

// TestFactsLocalGolden: each kind of no-go on local hosts, as the report
// shows it: a missing package, one too old, a port taken, a nearly full
// filesystem (a 1 MiB tmpfs, as root), a stopped service, a file whose
// mode is wrong, a path that does not exist (unknown), and drift on h2.
func TestFactsLocalGolden(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query: the golden report expects a Debian controller")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	full := t.TempDir()
	tmpfs := false
	if os.Geteuid() == 0 {
		if err := syscall.Mount("golive-test", full, "tmpfs", 0, "size=1m"); err == nil {
			tmpfs = true
			t.Cleanup(func() { syscall.Unmount(full, syscall.MNT_DETACH) })
			mustWrite(t, filepath.Join(full, "fill"), make([]byte, 900<<10))
		}
	}
	if !tmpfs {
		t.Skip("needs root to mount a small tmpfs")
	}
	conf := filepath.Join(t.TempDir(), "app.conf")
	mustWrite(t, conf, []byte("x\n"))
	os.Chmod(conf, 0o644)
	r := newFactRig(t, `  - {name: nginx, on: web, package: {name: golive-absent-nginx, version: ">= 1.22"}}
  - {name: dpkg, on: h1, package: {name: dpkg, version: ">= 99:1.0"}}
  - {name: port, on: h1, port: {number: `+port+`, state: free}}
  - {name: disk, on: h2, disk: {path: `+full+`, free: 1MiB}}
  - {name: gone, on: h2, disk: {path: /golive/no/such/path, free: 1MiB}}
  - {name: cron, on: h2, service: {name: golive-absent-cron}}
  - {name: conf, on: h1, file: {path: `+conf+`, mode: "0640"}}`)
	mustWrite(t, filepath.Join(r.root, "h2", "current"), []byte("0.9\n"))
	rep := r.review(t, &local.Transport{})
	var b strings.Builder
	ui.RenderReview(&b, rep, ui.Style{})
	dpkg, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", "dpkg").Output()
	got := strings.NewReplacer(r.root, "$ROOT", full, "$FULL", conf, "$CONF", " "+port+" ", " PORT ",
		" "+string(dpkg)+",", " DPKG_VERSION,", r.runID, "r-ID").Replace(b.String())
	golden := filepath.Join("testdata", "facts_local.golden")
	if *update {
		mustWrite(t, golden, []byte(got))
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestFactsUnreachableHost: a host that cannot be reached is unknown for
// every fact and for drift, and the review says why.
func TestFactsUnreachableHost(t *testing.T) {
	r := newFactRig(t, `  - {name: root, on: h2, user: root}`)
	for _, h := range r.ro.Current {
		if h.Host.Name == "h2" {
			h.Host.Transport, h.Host.Address, h.Host.Port = "ssh", "127.0.0.1", 1
		}
	}
	for _, c := range r.ro.Facts {
		for _, h := range c.Targets {
			h.Transport, h.Address, h.Port = "ssh", "127.0.0.1", 1
		}
	}
	trs := map[string]transport.Transport{"local": &local.Transport{}, "ssh": &sshtr.Transport{ConnectTimeout: 5 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep := review.Review(ctx, review.Input{Plan: r.plan.Plan, Rollout: r.ro, Store: r.st, Engine: (&rig{st: r.st, root: r.root}).engine(),
		Dialer: &check.Dialer{Transports: trs, PlanDir: r.root}, Now: now})
	if rep.Go {
		t.Fatal("go with an unreachable host")
	}
	var seen int
	for _, it := range rep.Items {
		if it.Host == "h2" && (it.Kind == "facts" || it.Kind == "drift") {
			seen++
			if it.OK || !it.Unknown || !strings.Contains(it.Detail, "unknown") || !strings.Contains(it.Detail, "refused") {
				t.Errorf("unreachable h2: %+v", it)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d items for h2, want a fact and drift", seen)
	}
}

// TestDriftItem: every combination of found and recorded.
func TestDriftItem(t *testing.T) {
	rec := store.LiveRelease{Host: "h3", Release: "2.0", RunID: "r-1"}
	for _, c := range []struct {
		rc       int
		out      string
		recorded bool
		ok       bool
		detail   string
	}{
		{0, "2.0\n", true, true, "h3 runs 2.0, as recorded by run r-1"},
		{0, "1.9", true, false, "h3 runs 1.9, recorded 2.0 by run r-1"},
		{0, "", true, false, "h3 runs nothing, recorded 2.0 by run r-1"},
		{0, "", false, true, "h3 runs no release, as recorded"},
		{0, "1.9", false, false, "h3 runs 1.9, recorded nothing (never released by golive)"},
		{3, "2.0", true, false, "h3: targets.current failed (exit 3), recorded 2.0 by run r-1"},
		{0, "2.0 extra", true, false, `h3: targets.current printed "2.0 extra", which is not a release version; recorded 2.0 by run r-1`},
		{0, "-rf", true, false, `printed "-rf"`},
	} {
		it := review.DriftItem("h3", c.rc, c.out, nil, rec, c.recorded)
		if it.OK != c.ok || !strings.Contains(it.Detail, c.detail) || it.Kind != "drift" || it.Host != "h3" {
			t.Errorf("rc %d out %q recorded %v: %+v", c.rc, c.out, c.recorded, it)
		}
	}
}
