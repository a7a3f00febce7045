package hatest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
	"github.com/golive-dev/golive/internal/pgtest"
)

// Short leases so that a takeover takes seconds; no test asserts a time
// tighter than these plus a generous slack.
const (
	heartbeat = 300 * time.Millisecond
	leaseTTL  = 1500 * time.Millisecond
	// slack is what a loaded machine may add to a takeover.
	slack       = 10 * time.Second
	waitTimeout = 60 * time.Second
)

var golive string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if _, err := exec.LookPath("sh"); err != nil {
		fmt.Println("hatest: skipped: no sh on PATH")
		return 0
	}
	dir, err := os.MkdirTemp("", "golive-hatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hatest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if golive, err = golivetest.Build(dir); err != nil {
		fmt.Println("hatest: skipped:", err)
		return 0
	}
	return pgtest.Main(m)
}

// world is a plan of local hosts (directories), one PostgreSQL database
// and the golive servers of a test.
type world struct {
	t     *testing.T
	dir   string
	plan  string
	dsn   string
	sync  string // arm-HOST (by the test), at-HOST (by the switch step)
	logs  string // HOST.log: a line per step run
	hosts []string
	token string // the deployer's API token
	cli   *golivetest.CLI
	// heartbeat and ttl are the servers' lease settings.
	heartbeat, ttl time.Duration
}

const deployer = "ha-deployer-token-0123456789"

// newWorld writes a plan of n local hosts in batches of two after a
// canary of one, with controls.takeover mode ("" for the default), on
// the PostgreSQL database dsn. Each host runs `prepare` then `switch`;
// switch sleeps as many seconds as sync/arm-HOST says when it exists
// (one shot), after writing sync/at-HOST, so that the test can act while
// a batch is half done; a switch that wakes after its sleep logs "late"
// (its controller was killed: the local transport must have ended it).
func newWorld(t *testing.T, n int, mode, dsn string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, dir: dir, plan: filepath.Join(dir, "golive.yaml"), dsn: dsn,
		sync: filepath.Join(dir, "sync"), logs: filepath.Join(dir, "logs"), token: deployer,
		heartbeat: heartbeat, ttl: leaseTTL}
	for _, d := range []string{w.sync, w.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var hosts strings.Builder
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("h%d", i)
		w.hosts = append(w.hosts, h)
		if err := os.MkdirAll(filepath.Join(dir, "hosts", h), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&hosts, "    %s: {dir: %q}\n", h, filepath.Join(dir, "hosts", h))
	}
	controls := ""
	if mode != "" {
		controls = "controls:\n  takeover: " + mode + "\n"
	}
	plan := fmt.Sprintf(haPlan, w.sync, w.logs, hosts.String(), controls)
	if err := os.WriteFile(w.plan, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(deployer))
	tokens := fmt.Sprintf("tokens:\n  - name: dana\n    sha256: %s\n    roles: [deployer]\n", hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(dir, "tokens.yaml"), []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	w.cli = &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: w.plan, Store: dsn, User: "hatest", Timeout: waitTimeout}
	return w
}

const haPlan = `golive: 1
name: ha
vars:
  lib: |
    S="%s"; L="%s"
    log() { echo "$1 $GOLIVE_STEP $GOLIVE_RELEASE" >>"$L/$GOLIVE_HOST.log"; }
targets:
  defaults: {transport: local}
  hosts:
%s%sstages:
  - name: web
    on: all
    strategy: {canary: 1, batch: 2}
    steps:
      - name: prepare
        run: |
          ${{ vars.lib }}
          log run
          sleep 0.2
          echo "$GOLIVE_RELEASE" > prepared
        backout: rm -f prepared
      - name: switch
        run: |
          ${{ vars.lib }}
          log run
          if [ -e "$S/arm-$GOLIVE_HOST" ]; then
            s=$(cat "$S/arm-$GOLIVE_HOST"); rm -f "$S/arm-$GOLIVE_HOST"
            echo $$ > "$S/at-$GOLIVE_HOST.tmp" && mv "$S/at-$GOLIVE_HOST.tmp" "$S/at-$GOLIVE_HOST"
            case "$s" in
            quiet:*) sleep "${s#quiet:}" ;;
            *) sleep "$s"; log late ;;
            esac
          fi
          sleep 0.2
          echo "$GOLIVE_RELEASE" > current
        backout: |
          ${{ vars.lib }}
          log backout
          rm -f current
`

// arm makes host's next switch sleep secs seconds (and log "late" if
// it wakes up; with quiet, it goes on as if nothing happened).
func (w *world) arm(host string, secs int, quiet bool) {
	w.t.Helper()
	what := fmt.Sprint(secs)
	if quiet {
		what = "quiet:" + what
	}
	if err := os.WriteFile(filepath.Join(w.sync, "arm-"+host), []byte(what), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// waitAt waits until host's armed switch is sleeping.
func (w *world) waitAt(host string, servers ...*server) {
	w.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(w.sync, "at-"+host)); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	var logs []string
	for _, s := range servers {
		logs = append(logs, s.stderr.String())
	}
	w.t.Fatalf("host %s never reached its armed switch\n%s", host, strings.Join(logs, "\n"))
}

// server is a `golive serve` process.
type server struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr golivetest.SyncBuffer
	done   chan struct{}
	url    string
}

var servingRE = regexp.MustCompile(`url=(https?://[0-9.:]+)`)

// serve starts `golive serve` on the world's plan and database, with the
// test's short lease, and waits until it listens.
func (w *world) serve(name string) *server {
	w.t.Helper()
	return w.serveFile(name, w.plan)
}

// serveFile is serve with another plan file.
func (w *world) serveFile(name, plan string) *server {
	w.t.Helper()
	s := &server{t: w.t, name: name, done: make(chan struct{})}
	s.cmd = exec.Command(golive, "serve", "--addr", "127.0.0.1:0", "--tokens", filepath.Join(w.dir, "tokens.yaml"),
		"--store", w.dsn, "--heartbeat", w.heartbeat.String(), "--lease-ttl", w.ttl.String(), plan)
	s.cmd.Dir = w.dir
	s.cmd.Env = w.cli.Env()
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	w.t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGCONT)
		s.cmd.Process.Kill()
		<-s.done
		// GOFLAGS=-race builds the binary with the race detector too.
		if strings.Contains(s.stderr.String(), "WARNING: DATA RACE") {
			w.t.Errorf("server %s had a data race:\n%s", s.name, s.stderr.String())
		}
		if w.t.Failed() {
			w.t.Logf("server %s:\n%s", s.name, s.stderr.String())
		}
	})
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = m[1]
			return s
		}
		select {
		case <-s.done:
			w.t.Fatalf("server %s exited\n%s", name, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	w.t.Fatalf("server %s did not listen\n%s", name, s.stderr.String())
	return nil
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v to server %s: %v", sig, s.name, err)
	}
}

// kill kills the server with SIGKILL and waits until it is reaped.
func (s *server) kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL)
	<-s.done
}

// idle reports whether the server executes no run (its /metrics).
func (s *server) idle() bool {
	s.t.Helper()
	resp, err := (&http.Client{Timeout: waitTimeout}).Get(s.url + "/metrics")
	if err != nil {
		s.t.Fatalf("metrics of %s: %v", s.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return regexp.MustCompile(`(?m)^golive_active_runs 0$`).Match(raw)
}

// call makes an API request and decodes the JSON answer.
func (s *server) call(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: waitTimeout}).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s on %s: %v", method, path, s.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

// start starts a run of release over the API of s and returns its id.
func (w *world) start(s *server, release string) string {
	w.t.Helper()
	code, out := s.call("POST", "/api/v1/runs", w.token, map[string]any{"plan": "ha", "release": release})
	if code != http.StatusCreated {
		w.t.Fatalf("start on %s: %d %v\n%s", s.name, code, out, s.stderr.String())
	}
	id, _ := out["id"].(string)
	if id == "" {
		w.t.Fatalf("start on %s: no run id in %v", s.name, out)
	}
	return id
}

// event is one journal event as `golive logs --json` prints it.
type event struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Action  string    `json:"action"`
	Host    string    `json:"host"`
	Step    string    `json:"step"`
	Message string    `json:"message"`
}

// journal is the run's journal, read by the CLI from PostgreSQL.
func (w *world) journal(id string) (raw string, events []event) {
	w.t.Helper()
	r := w.cli.MustExit(0, "logs", id, "--json")
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			w.t.Fatalf("logs --json: %q: %v", line, err)
		}
		events = append(events, ev)
	}
	return r.Stdout, events
}

// state is the run's state as `golive status --json` says.
func (w *world) state(id string) string {
	w.t.Helper()
	r := w.cli.MustExit(0, "status", id, "--json")
	var st struct {
		Run struct {
			State string `json:"state"`
		} `json:"run"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		w.t.Fatalf("status --json: %v\n%s", err, r.Stdout)
	}
	if st.State != "" {
		return st.State
	}
	return st.Run.State
}

// waitState waits until the run is in one of states.
func (w *world) waitState(id string, servers []*server, states ...string) string {
	w.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := w.state(id)
		for _, s := range states {
			if got == s {
				return got
			}
		}
		if time.Now().After(deadline) {
			var logs []string
			for _, s := range servers {
				logs = append(logs, s.name+":\n"+s.stderr.String())
			}
			raw, _ := w.journal(id)
			w.t.Fatalf("run %s is %s, want %v\njournal:\n%s\n%s", id, got, states, raw, strings.Join(logs, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hostFiles is every file of every host with its content.
func (w *world) hostFiles() map[string]string {
	w.t.Helper()
	out := map[string]string{}
	root := filepath.Join(w.dir, "hosts")
	filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(root, path)
			out[rel] = string(b)
		}
		return nil
	})
	for _, h := range w.hosts {
		b, _ := os.ReadFile(filepath.Join(w.logs, h+".log"))
		out["log:"+h] = string(b)
	}
	return out
}

// assertReleased checks every host is exactly at release: prepared and
// current hold it, no step woke up late, and the journal has each
// step's success on each host exactly once.
func (w *world) assertReleased(id, release string) {
	w.t.Helper()
	files := w.hostFiles()
	for _, h := range w.hosts {
		for _, f := range []string{"prepared", "current"} {
			if got := strings.TrimSpace(files[h+"/"+f]); got != release {
				w.t.Errorf("host %s: %s holds %q, want %q", h, f, got, release)
			}
		}
		if strings.Contains(files["log:"+h], "late") {
			w.t.Errorf("host %s: a step went on after its controller was gone:\n%s", h, files["log:"+h])
		}
	}
	_, events := w.journal(id)
	finished := map[string]int{}
	for _, ev := range events {
		if ev.Kind == "step" && ev.Action == "finished" {
			finished[ev.Host+"/"+ev.Step]++
		}
	}
	var bad []string
	for _, h := range w.hosts {
		for _, s := range []string{"prepare", "switch"} {
			if n := finished[h+"/"+s]; n != 1 {
				bad = append(bad, fmt.Sprintf("%s/%s %d times", h, s, n))
			}
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		raw, _ := w.journal(id)
		w.t.Errorf("each step's success must be journaled once: %s\n%s", strings.Join(bad, ", "), raw)
	}
}

// takenOver returns the run's takeover events.
func takenOver(events []event) []event {
	var out []event
	for _, ev := range events {
		if ev.Kind == "run" && ev.Action == "taken_over" {
			out = append(out, ev)
		}
	}
	return out
}
