package cli

import (
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
)

// TestServeLifecycleThroughTheBinary: golive serve, through the binary,
// serves every plan given (two paths, not just the first), over http
// without --tls-cert, warns that it is read-only exactly when it has no
// --tokens, on SIGHUP rescans the plans and reads the tokens file again
// (logging success, no error) and keeps serving (SIGHUP is not the
// command-wide "stop" signal here), and stops cleanly on SIGINT: exit 0.
func TestServeLifecycleThroughTheBinary(t *testing.T) {
	const readOnly = "no --tokens: the server is read-only"
	plan := func(name string) string {
		return "golive: 1\nname: " + name + "\ntargets:\n  hosts:\n    h1: {transport: local, dir: hosts/h1, roles: [web]}\n" +
			"stages:\n  - {name: web, on: web, steps: [{name: s, run: 'true', backout: 'true'}]}\n"
	}
	tokens := "tokens:\n  - name: alice\n    sha256: " + strings.Repeat("ab", 32) + "\n    roles: [viewer]\n"
	for _, withTokens := range []bool{false, true} {
		c := newCLI(t, plan("shop"), map[string]string{"other.yaml": plan("other"), "tokens.yaml": tokens})
		args := []string{"serve", "--addr", "127.0.0.1:0"}
		if withTokens {
			args = append(args, "--tokens", filepath.Join(c.Dir, "tokens.yaml"))
		}
		args = append(args, c.Plan, filepath.Join(c.Dir, "other.yaml"))
		cmd := exec.Command(c.Bin, args...)
		var out golivetest.SyncBuffer
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.Dir, c.Env(), &out, &out
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		waitFor := func(what string) {
			t.Helper()
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(out.String(), what) {
				select {
				case <-done:
					t.Fatalf("tokens=%v: golive serve ended before logging %q:\n%s", withTokens, what, out.String())
				default:
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					<-done
					t.Fatalf("tokens=%v: no %q within 60s:\n%s", withTokens, what, out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitFor("msg=serving")
		log := out.String()
		for _, want := range []string{"url=http://127.0.0.1:", "plans=2", "name=shop", "name=other"} {
			if !strings.Contains(log, want) {
				t.Errorf("tokens=%v: %q not logged:\n%s", withTokens, want, log)
			}
		}
		if strings.Contains(log, readOnly) == withTokens {
			t.Errorf("tokens=%v: read-only warning logged = %v:\n%s", withTokens, !withTokens, log)
		}

		// SIGHUP: rescan (other.yaml now names another plan), tokens read again.
		if err := os.WriteFile(filepath.Join(c.Dir, "other.yaml"), []byte(plan("renamed")), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd.Process.Signal(syscall.SIGHUP)
		waitFor("plans rescanned")
		if withTokens {
			waitFor("tokens read again")
		}
		// Still serving a second later: SIGHUP did not stop it.
		select {
		case <-done:
			t.Fatalf("tokens=%v: golive serve ended on SIGHUP:\n%s", withTokens, out.String())
		case <-time.After(time.Second):
		}
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("tokens=%v: golive serve did not stop on SIGINT:\n%s", withTokens, out.String())
		}
		log = out.String()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("tokens=%v: exit %d after SIGINT, want 0:\n%s", withTokens, code, log)
		}
		for _, bad := range []string{"level=ERROR", "not rescanned", "not read again"} {
			if strings.Contains(log, bad) {
				t.Errorf("tokens=%v: %q logged:\n%s", withTokens, bad, log)
			}
		}
		if !strings.Contains(log, "signal=SIGINT") {
			t.Errorf("tokens=%v: stop on SIGINT not logged:\n%s", withTokens, log)
		}
	}
}

// TestServeReportThroughTheBinary: golive serve hands the API the report
// the CLI makes (JSON and Markdown) of a run in the store.
func TestServeReportThroughTheBinary(t *testing.T) {
	c := newCLI(t, "golive: 1\nname: shop\ntargets:\n  hosts:\n    h1: {transport: local, dir: hosts/h1, roles: [web]}\n"+
		"stages:\n  - {name: web, on: web, steps: [{name: s, run: 'true', backout: 'true'}]}\n", map[string]string{})
	r := c.MustExit(0, "run", "-r", "1.0")
	m := regexp.MustCompile(`run (r-[0-9a-f-]+):`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no run id:\n%s", r)
	}
	id := m[1]
	tok := exec.Command(c.Bin, "token", "new", "vera", "--role", "viewer")
	tok.Env = c.Env()
	tokOut, err := tok.Output()
	if err != nil {
		t.Fatalf("token new: %v\n%s", err, tokOut)
	}
	secret, line, ok := strings.Cut(string(tokOut), "\n\nAdd to the tokens file (under tokens:):\n")
	secret = strings.TrimPrefix(secret, "token: ")
	if !ok || secret == "" {
		t.Fatalf("token new printed:\n%s", tokOut)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "tokens.yaml"), []byte("tokens:\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.Bin, "serve", "--addr", "127.0.0.1:0", "--tokens", filepath.Join(c.Dir, "tokens.yaml"), "--store", c.Store, c.Plan)
	var out golivetest.SyncBuffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.Dir, c.Env(), &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:[0-9]+)`)
	deadline := time.Now().Add(60 * time.Second)
	for urlRE.FindStringSubmatch(out.String()) == nil {
		select {
		case <-done:
			t.Fatalf("golive serve ended:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("golive serve did not start within 60s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := urlRE.FindStringSubmatch(out.String())[1]
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/v1/runs/"+id+"/report", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(secret))
		req.Header.Set("Accept", accept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET report (%s): %v\n%s", accept, err, out.String())
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := get("application/json")
	if code != 200 || !strings.Contains(body, id) || !strings.Contains(body, `"1.0"`) {
		t.Errorf("JSON report: %d\n%s", code, body)
	}
	code, body = get("text/markdown")
	if code != 200 || !strings.Contains(body, id) || !strings.Contains(body, "shop") {
		t.Errorf("Markdown report: %d\n%s", code, body)
	}
}
