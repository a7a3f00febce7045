package server_test

import (
	"bufio"
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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
	"github.com/golive-dev/golive/internal/pgtest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "golive-serve-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err = golivetest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := pgtest.Main(m) // a PostgreSQL for the tests that want one
	closeBrowser()         // browser_test.go
	os.RemoveAll(dir)
	os.Exit(code)
}

// The tokens of the tests: the secret is the name with a suffix.
var testTokens = []struct{ name, roles, plans string }{
	{"vera", "viewer", ""},
	{"dan", "deployer", ""},
	{"bob", "approver", ""},
	{"alice", "deployer, approver", ""},
	{"root", "admin", ""},
	{"other", "admin", "other"},
}

func secret(name string) string { return "tok-" + name + "-s3cret" }

// env is a directory of plans, a tokens file and the store beside each
// plan.
type env struct {
	t        *testing.T
	dir      string
	tokens   string
	extraEnv []string // added to golive's environment
}

func newEnv(t *testing.T, plans map[string]string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	for name, text := range plans {
		os.MkdirAll(filepath.Join(e.dir, name), 0o755)
		text = strings.ReplaceAll(text, "DIR", filepath.Join(e.dir, name))
		if err := os.WriteFile(filepath.Join(e.dir, name, "golive.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("tokens:\n")
	for _, tk := range testTokens {
		sum := sha256.Sum256([]byte(secret(tk.name)))
		fmt.Fprintf(&b, "  - name: %s\n    sha256: %s\n    roles: [%s]\n", tk.name, hex.EncodeToString(sum[:]), tk.roles)
		if tk.plans != "" {
			fmt.Fprintf(&b, "    plans: [%s]\n", tk.plans)
		}
	}
	e.tokens = filepath.Join(e.dir, "tokens.yaml")
	if err := os.WriteFile(e.tokens, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// proc is a golive process.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr golivetest.SyncBuffer
	done           chan struct{}
	url            string
}

func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.dir
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOLIVE_") {
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(append(environ, "NO_COLOR=1"), e.extraEnv...)
	return cmd
}

var servingRE = regexp.MustCompile(`url=(https?://[0-9.:]+)`)

// serve starts `golive serve` with args (plus --addr 127.0.0.1:0) and
// waits until it listens.
func (e *env) serve(args ...string) *proc {
	e.t.Helper()
	p := &proc{t: e.t, done: make(chan struct{})}
	p.cmd = e.command(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		// GOFLAGS=-race builds the binary with the race detector too.
		if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
			e.t.Errorf("golive serve had a data race:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(p.stderr.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case <-p.done:
			e.t.Fatalf("golive serve exited\n%s", p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.t.Fatalf("golive serve did not listen within 30s\n%s", p.stderr.String())
	return nil
}

// stop sends SIGTERM and waits for the exit (code).
func (p *proc) stop() int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("golive serve did not stop within 60s\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// answer is an HTTP answer with its JSON body.
type answer struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (a answer) str(key string) string {
	v, _ := a.Body[key].(string)
	return v
}

// do makes a request as token (its name; "" sends none).
func (p *proc) do(method, path, token string, body any) answer {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+secret(token))
	}
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s", method, path, err, p.stderr.String())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Raw: string(raw)}
	json.Unmarshal(raw, &a.Body)
	return a
}

// must makes a request and fails the test unless it answers status.
func (p *proc) must(status int, method, path, token string, body any) answer {
	p.t.Helper()
	a := p.do(method, path, token, body)
	if a.Status != status {
		p.t.Fatalf("%s %s as %q: want %d, got %d: %s", method, path, token, status, a.Status, a.Raw)
	}
	return a
}

// waitState polls the run until it is in one of states.
func (p *proc) waitState(id string, states ...string) answer {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := p.must(200, "GET", "/api/v1/runs/"+id, "vera", nil)
		for _, s := range states {
			if a.str("state") == s {
				return a
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("run %s: want state %v, is %s\n%s", id, states, a.Raw, p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseMsg is one server-sent event.
type sseMsg struct{ ID, Event, Data string }

// stream reads the SSE stream of path until `event: end` (or 60s).
func (p *proc) stream(path, token, lastID string) []sseMsg {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+secret(token))
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		p.t.Fatalf("SSE %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []sseMsg
	var cur sseMsg
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Event != "" {
				out = append(out, cur)
				if cur.Event == "end" {
					return out
				}
			}
			cur = sseMsg{}
		case strings.HasPrefix(line, "id: "):
			cur.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.Data = line[6:]
		}
	}
	p.t.Fatalf("SSE %s ended without event: end (%v); got %d messages", path, sc.Err(), len(out))
	return nil
}

// doRaw makes a request with the Authorization header auth.
func (p *proc) doRaw(method, path, auth string, body any) answer {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", auth)
	return p.send(req)
}

// send sends req and reads the answer.
func (p *proc) send(req *http.Request) answer {
	p.t.Helper()
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Raw: string(raw)}
	json.Unmarshal(raw, &a.Body)
	return a
}

// metrics is the text of GET /metrics.
func (p *proc) metrics() string {
	p.t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(p.url + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}
