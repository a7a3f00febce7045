package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartRefused: what `golive serve` refuses at start, exit 2: two
// plans with one name, a non-loopback address without TLS or
// --insecure-http, or without tokens, a tokens file holding a token
// instead of its hash.
func TestStartRefused(t *testing.T) {
	e := allPlans(t)
	dup := filepath.Join(e.dir, "dup")
	os.MkdirAll(dup, 0o755)
	os.WriteFile(filepath.Join(dup, "x.golive.yaml"), []byte(strings.ReplaceAll(otherPlan, "DIR", dup)), 0o644)
	bad := filepath.Join(e.dir, "bad-tokens.yaml")
	os.WriteFile(bad, []byte("tokens:\n  - name: eve\n    sha256: tok-eve-s3cret\n    roles: [admin]\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{e.dir}, `two plans are named "other"`},
		{[]string{"--addr", "0.0.0.0:0", "--tokens", e.tokens, filepath.Join(e.dir, "shop")}, "--tls-cert and --tls-key, or --insecure-http"},
		{[]string{"--addr", "0.0.0.0:0", "--insecure-http", filepath.Join(e.dir, "shop")}, "give --tokens"},
		{[]string{"--tokens", bad, filepath.Join(e.dir, "shop")}, "64 hex digits"},
		{[]string{filepath.Join(e.dir, "nowhere")}, "no such file"},
	} {
		out, err := e.command(append([]string{"serve"}, c.args...)...).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v: want exit 2 saying %q, got %d:\n%s", c.args, c.want, code, out)
		}
		if strings.Contains(string(out), "tok-eve-s3cret") {
			t.Errorf("serve %v echoes the token:\n%s", c.args, out)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestTokenNew: `golive token new` prints a fresh token once and the
// line that knows it by its sha256 only; the server accepts it.
func TestTokenNew(t *testing.T) {
	e := allPlans(t)
	out, err := e.command("token", "new", "carol", "--role", "approver,viewer").Output()
	if err != nil {
		t.Fatalf("token new: %v\n%s", err, out)
	}
	tok := regexp.MustCompile(`token: (glv_[A-Za-z0-9_-]{40,})`).FindStringSubmatch(string(out))
	if tok == nil {
		t.Fatalf("no token printed:\n%s", out)
	}
	sum := sha256.Sum256([]byte(tok[1]))
	line := "  - name: carol\n    sha256: " + hex.EncodeToString(sum[:]) + "\n    roles: [approver, viewer]\n"
	if !strings.Contains(string(out), line) || strings.Count(string(out), tok[1]) != 1 {
		t.Fatalf("want the line\n%s\nin\n%s", line, out)
	}
	again, _ := e.command("token", "new", "carol", "--role", "viewer").Output()
	if strings.Contains(string(again), tok[1]) {
		t.Error("two tokens are the same")
	}
	for _, args := range [][]string{{"token", "new", "carol"}, {"token", "new", "carol", "--role", "god"}, {"token", "new", "bad name", "--role", "viewer"}} {
		if out, err := e.command(args...).CombinedOutput(); exitCode(err) != 2 {
			t.Errorf("%v: want exit 2, got %v\n%s", args, err, out)
		}
	}
	file := filepath.Join(e.dir, "new-tokens.yaml")
	os.WriteFile(file, []byte("tokens:\n"+line), 0o600)
	s := e.serve("--tokens", file, filepath.Join(e.dir, "shop"))
	a := s.doRaw("GET", "/api/v1/plans", "Bearer "+tok[1], nil)
	if a.Status != 200 {
		t.Errorf("the new token: %d %s", a.Status, a.Raw)
	}
	if a := s.doRaw("POST", "/api/v1/runs", "Bearer "+tok[1], map[string]any{"plan": "shop", "release": "1"}); a.Status != 403 {
		t.Errorf("an approver starts a run: %d %s", a.Status, a.Raw)
	}
}

// TestSIGHUPRescans: a plan added to a served directory is known after
// SIGHUP.
func TestSIGHUPRescans(t *testing.T) {
	e := newEnv(t, map[string]string{"shop": shopPlan})
	s := e.serve("--tokens", e.tokens, e.dir)
	if a := s.must(200, "GET", "/api/v1/plans", "vera", nil); strings.Contains(a.Raw, `"other"`) {
		t.Fatalf("other known before it exists: %s", a.Raw)
	}
	dir := filepath.Join(e.dir, "more")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "other.golive.yaml"), []byte(strings.ReplaceAll(otherPlan, "DIR", dir)), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.must(200, "GET", "/api/v1/plans", "vera", nil).Raw, `"other"`) {
		if time.Now().After(deadline) {
			t.Fatalf("other not known after SIGHUP\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
