package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWebhookRefusalAudited: a delivery with a bad or missing signature
// starts nothing and is recorded in the server's audit (time, plan,
// remote address, reason), which GET /api/v1/audit shows to the tokens
// of that plan only; the refusal is there after a restart too.
func TestWebhookRefusalAudited(t *testing.T) {
	e := hookEnv(t)
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	s := e.serve("--tokens", e.tokens, e.dir)
	body := []byte(`{"release": "9.0"}`)
	if a := s.deliver("shop", "wrong-key-0123456789abcdef", "d-bad", "", body); a.Status != 401 {
		t.Fatalf("bad signature: %d %s", a.Status, a.Raw)
	}
	if a := s.deliver("shop", "", "", "", body); a.Status != 401 {
		t.Fatalf("no signature: %d %s", a.Status, a.Raw)
	}
	if runs := s.must(200, "GET", "/api/v1/runs", "vera", nil); strings.Contains(runs.Raw, `"id"`) {
		t.Fatalf("a refused delivery started a run: %s", runs.Raw)
	}
	check := func(p *proc) {
		t.Helper()
		a := p.must(200, "GET", "/api/v1/audit?plan=shop", "vera", nil)
		list, _ := a.Body["audit"].([]any)
		if len(list) != 2 {
			t.Fatalf("audit: want the 2 refusals, got %s", a.Raw)
		}
		for _, x := range list {
			en := x.(map[string]any)
			if en["kind"] != "webhook_refused" || en["plan"] != "shop" || !strings.HasPrefix(en["remote"].(string), "127.0.0.1:") ||
				!strings.Contains(en["reason"].(string), "signature") || en["time"] == "" {
				t.Errorf("audit entry: %v", en)
			}
		}
		// "other" may only see its plan's audit: not shop's.
		if a := p.do("GET", "/api/v1/audit?plan=shop", "other", nil); a.Status != 403 {
			t.Errorf("audit of shop for a token of other: %d %s", a.Status, a.Raw)
		}
		if a := p.must(200, "GET", "/api/v1/audit", "other", nil); strings.Contains(a.Raw, "webhook_refused") {
			t.Errorf("the audit of every plan, for a token of other, shows shop's: %s", a.Raw)
		}
		if a := p.do("GET", "/api/v1/audit?limit=0", "vera", nil); a.Status != 422 {
			t.Errorf("limit=0: %d %s", a.Status, a.Raw)
		}
		if a := p.do("GET", "/api/v1/audit", "", nil); a.Status != 401 {
			t.Errorf("audit without a token: %d", a.Status)
		}
	}
	check(s)
	if !strings.Contains(s.stderr.String(), "bad or missing signature") {
		t.Errorf("the refusal is not in the log:\n%s", s.stderr.String())
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	check(e.serve("--tokens", e.tokens, e.dir))
}

// TestWebhookReplayAfterRestart: a delivery id is remembered in the
// server's store: replayed to the next server, it is refused.
func TestWebhookReplayAfterRestart(t *testing.T) {
	e := hookEnv(t)
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	s := e.serve("--tokens", e.tokens, e.dir)
	body := []byte(`{"release": "9.0"}`)
	a := s.deliver("shop", hookKey, "d-1", "", body)
	if a.Status != 202 {
		t.Fatalf("delivery: %d %s", a.Status, a.Raw)
	}
	s.waitState(a.str("id"), "succeeded")
	// Without a delivery id, the body's sha256 is the id.
	if a := s.deliver("shop", hookKey, "", "", []byte(`{"release": "9.1"}`)); a.Status != 202 {
		t.Fatalf("delivery without id: %d %s", a.Status, a.Raw)
	} else {
		s.waitState(a.str("id"), "succeeded")
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	s2 := e.serve("--tokens", e.tokens, e.dir)
	if r := s2.deliver("shop", hookKey, "d-1", "", body); r.Status != 409 || r.str("code") != "replayed" {
		t.Errorf("delivery d-1 replayed to the next server: %d %s", r.Status, r.Raw)
	}
	if r := s2.deliver("shop", hookKey, "", "", []byte(`{"release": "9.1"}`)); r.Status != 409 {
		t.Errorf("a body replayed to the next server: %d %s", r.Status, r.Raw)
	}
	if runs := s2.must(200, "GET", "/api/v1/runs", "vera", nil); strings.Count(runs.Raw, `"requester": "ci"`) != 2 {
		t.Errorf("want the 2 runs of the first server only: %s", runs.Raw)
	}
}

// signIn signs in as name and returns the session cookie's value.
func (p *proc) signIn(name string) string {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"token": %q}`, secret(name))))
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		p.t.Fatalf("sign in as %s: %d", name, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "golive_session" {
			return c.Value
		}
	}
	p.t.Fatal("no session cookie")
	return ""
}

// whoIs is the name GET /api/v1/session gives for the session cookie
// (its status when not 200).
func (p *proc) whoIs(cookie string) string {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/api/v1/session", nil)
	req.Header.Set("Cookie", "golive_session="+cookie)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Sprint(resp.StatusCode)
	}
	var who struct{ Name string }
	json.NewDecoder(resp.Body).Decode(&who)
	return who.Name
}

// TestSessionSurvivesRestart: a browser session is kept in the server's
// store, by the sha256 of its id only: the next server knows it; signing
// out deletes it.
func TestSessionSurvivesRestart(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	alice := s.signIn("alice")
	bob := s.signIn("bob")
	if who := s.whoIs(alice); who != "alice" {
		t.Fatalf("session of alice: %s", who)
	}
	s.stop()
	// The store holds no session id, only hashes.
	files, _ := filepath.Glob(filepath.Join(e.dir, ".golive", "state.db*"))
	if len(files) == 0 {
		t.Fatalf("no server store in %s", e.dir)
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), alice) || strings.Contains(string(data), secret("alice")) {
			t.Errorf("%s holds the session id or the token", f)
		}
	}
	s2 := e.serve("--tokens", e.tokens, e.dir)
	if who := s2.whoIs(alice); who != "alice" {
		t.Fatalf("session of alice after a restart: %s", who)
	}
	if who := s2.whoIs(bob); who != "bob" {
		t.Fatalf("session of bob after a restart: %s", who)
	}
	req, _ := http.NewRequest("DELETE", s2.url+"/api/v1/session", nil)
	req.Header.Set("Cookie", "golive_session="+alice)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("sign out: %v %v", resp, err)
	}
	if who := s2.whoIs(alice); who != "401" {
		t.Errorf("a session signed out: %s, want 401", who)
	}
	s2.stop()
	if who := e.serve("--tokens", e.tokens, e.dir).whoIs(alice); who != "401" {
		t.Errorf("a session signed out, after a restart: %s, want 401", who)
	}
}

// TestSIGHUPReadsTokens: SIGHUP reads the tokens file again: a revoked
// token (and its browser sessions) stops working without a restart, a new
// one works; a malformed file keeps the tokens known and says what is
// wrong, where.
func TestSIGHUPReadsTokens(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	danSession := s.signIn("dan")
	s.must(200, "GET", "/api/v1/runs", "dan", nil)
	hup := func(want string) {
		t.Helper()
		n := strings.Count(s.stderr.String(), want)
		s.cmd.Process.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(s.stderr.String(), want) == n {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log after SIGHUP\n%s", want, s.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	good, _ := os.ReadFile(e.tokens)
	// Malformed: the tokens known stay, the log says where.
	bad := strings.Replace(string(good), "roles: [viewer]", "roles: [viewer, boss]", 1)
	if bad == string(good) {
		t.Fatal("the tokens file has no viewer line")
	}
	os.WriteFile(e.tokens, []byte(bad), 0o600)
	hup("the tokens file was not read again")
	log := s.stderr.String()
	if !strings.Contains(log, e.tokens) || !strings.Contains(log, "tokens[0]") || !strings.Contains(log, "boss") {
		t.Errorf("the error does not say where and what:\n%s", log)
	}
	s.must(200, "GET", "/api/v1/runs", "vera", nil)
	s.must(200, "GET", "/api/v1/runs", "dan", nil)
	// dan revoked, zed added.
	var kept []string
	for _, block := range strings.Split(string(good), "  - name: ")[1:] {
		if !strings.HasPrefix(block, "dan\n") {
			kept = append(kept, "  - name: "+block)
		}
	}
	sum := sha256.Sum256([]byte(secret("zed")))
	kept = append(kept, "  - name: zed\n    sha256: "+hex.EncodeToString(sum[:])+"\n    roles: [viewer]\n")
	os.WriteFile(e.tokens, []byte("tokens:\n"+strings.Join(kept, "")), 0o600)
	hup("tokens read again")
	if a := s.do("GET", "/api/v1/runs", "dan", nil); a.Status != 401 {
		t.Errorf("a revoked token: %d %s", a.Status, a.Raw)
	}
	if who := s.whoIs(danSession); who != "401" {
		t.Errorf("the session of a revoked token: %s, want 401", who)
	}
	s.must(200, "GET", "/api/v1/runs", "zed", nil)
	s.must(200, "GET", "/api/v1/runs", "vera", nil)
}

// TestWebhookRedeliveryAfterLocked: a delivery that started nothing (the
// environment was locked) is not remembered: its redelivery, with the
// same id, starts the run; once started, the id is a replay.
func TestWebhookRedeliveryAfterLocked(t *testing.T) {
	e := hookEnv(t)
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	s := e.serve("--tokens", e.tokens, e.dir)
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	first := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "8.0"})
	body := []byte(`{"release": "8.1"}`)
	if a := s.deliver("shop", hookKey, "d-lock", "", body); a.Status != 409 || a.str("code") != "locked" {
		t.Fatalf("delivery while locked: %d %s", a.Status, a.Raw)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	s.waitState(first.str("id"), "succeeded")
	a := s.deliver("shop", hookKey, "d-lock", "", body)
	if a.Status != 202 || a.str("release") != "8.1" {
		t.Fatalf("redelivery once unlocked: %d %s", a.Status, a.Raw)
	}
	s.waitState(a.str("id"), "succeeded")
	if r := s.deliver("shop", hookKey, "d-lock", "", body); r.Status != 409 || r.str("code") != "replayed" {
		t.Errorf("the delivery that started a run, again: %d %s", r.Status, r.Raw)
	}
}
