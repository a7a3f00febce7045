package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const hookKey = "hook-key-0123456789abcdef"

// hookEnv is allPlans with a hook for shop as ci.
func hookEnv(t *testing.T) *env {
	e := allPlans(t)
	f, _ := os.OpenFile(e.tokens, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("hooks:\n  - plan: shop\n    secret_env: GOLIVE_HOOK_SHOP\n    as: ci\n")
	f.Close()
	return e
}

// deliver posts body to the hook of plan, signed with key ("" unsigned).
func (p *proc) deliver(plan, key, delivery, event string, body []byte) answer {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/hooks/"+plan, bytes.NewReader(body))
	if key != "" {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(body)
		req.Header.Set("X-Golive-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	if delivery != "" {
		req.Header.Set("X-Golive-Delivery", delivery)
	}
	if event != "" {
		req.Header.Set("X-GitHub-Event", event)
	}
	return p.send(req)
}

// TestWebhook: a signed delivery starts a run as the hook's identity; a
// bad or missing signature starts nothing (401), a replayed delivery is
// refused, a GitHub release payload and a tag push start runs, a branch
// push is ignored, a plan without a hook is 404.
func TestWebhook(t *testing.T) {
	e := hookEnv(t)
	cmd := e.command("serve", "--addr", "127.0.0.1:0", "--tokens", e.tokens, e.dir)
	// Without the key's variable the server does not start.
	if out, err := cmd.CombinedOutput(); exitCode(err) != 2 || !strings.Contains(string(out), "GOLIVE_HOOK_SHOP") {
		t.Fatalf("serve without the hook key: %v\n%s", err, out)
	}
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	s := e.serve("--tokens", e.tokens, e.dir)
	body := []byte(`{"release": "9.0", "ticket": "CHG-1"}`)
	for _, bad := range []string{"", "wrong-key-0123456789abcdef"} {
		if a := s.deliver("shop", bad, "d-bad", "", body); a.Status != 401 || a.str("code") != "unauthorized" {
			t.Errorf("signed with %q: %d %s", bad, a.Status, a.Raw)
		}
	}
	if runs := s.must(200, "GET", "/api/v1/runs", "vera", nil); strings.Contains(runs.Raw, `"id"`) {
		t.Fatalf("a badly signed delivery started a run: %s", runs.Raw)
	}
	a := s.deliver("shop", hookKey, "d-1", "", body)
	if a.Status != 202 || a.str("requester") != "ci" || a.str("release") != "9.0" {
		t.Fatalf("signed delivery: %d %s", a.Status, a.Raw)
	}
	s.waitState(a.str("id"), "succeeded")
	if r := s.deliver("shop", hookKey, "d-1", "", body); r.Status != 409 || r.str("code") != "replayed" {
		t.Errorf("replayed delivery: %d %s", r.Status, r.Raw)
	}
	// A delivery id is one line of UTF-8 text: it is kept and shown.
	// Refused (422, naming the header), nothing started.
	for _, id := range []string{"d-\xff", "d-\xc3"} {
		if r := s.deliver("shop", hookKey, id, "", []byte(`{"release": "9.0.1"}`)); r.Status != 422 || !strings.Contains(r.str("error"), "X-Golive-Delivery header") {
			t.Errorf("delivery id %q: %d %s", id, r.Status, r.Raw)
		}
	}
	if runs := s.must(200, "GET", "/api/v1/runs", "vera", nil); strings.Contains(runs.Raw, `"9.0.1"`) {
		t.Fatalf("a delivery with a bad id started a run: %s", runs.Raw)
	}
	if r := s.deliver("shop", hookKey, "d-2", "", []byte(`{"release": "9.1; rm -rf /"}`)); r.Status != 422 {
		t.Errorf("bad release: %d %s", r.Status, r.Raw)
	}
	gh := s.deliver("shop", hookKey, "d-3", "release", []byte(`{"action": "published", "release": {"tag_name": "v9.2"}}`))
	if gh.Status != 202 || gh.str("release") != "v9.2" {
		t.Fatalf("GitHub release: %d %s", gh.Status, gh.Raw)
	}
	s.waitState(gh.str("id"), "succeeded")
	tag := s.deliver("shop", hookKey, "d-4", "push", []byte(`{"ref": "refs/tags/v9.3"}`))
	if tag.Status != 202 || tag.str("release") != "v9.3" {
		t.Fatalf("tag push: %d %s", tag.Status, tag.Raw)
	}
	s.waitState(tag.str("id"), "succeeded")
	if r := s.deliver("shop", hookKey, "d-5", "push", []byte(`{"ref": "refs/heads/main"}`)); r.Status != 200 || r.str("ignored") == "" {
		t.Errorf("branch push: %d %s", r.Status, r.Raw)
	}
	if r := s.deliver("other", hookKey, "d-6", "", body); r.Status != 404 {
		t.Errorf("no hook: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(s.stderr.String(), hookKey) {
		t.Error("the hook key is in the log")
	}
}

// deliverAt posts body to the hook of plan as a timestamped delivery: the
// signature covers "TS.BODY" (X-Golive-Timestamp: ts).
func (p *proc) deliverAt(plan, key, delivery string, ts int64, body []byte) answer {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/hooks/"+plan, bytes.NewReader(body))
	stamp := strconv.FormatInt(ts, 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(stamp + "."))
	mac.Write(body)
	req.Header.Set("X-Golive-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-Golive-Timestamp", stamp)
	if delivery != "" {
		req.Header.Set("X-Golive-Delivery", delivery)
	}
	return p.send(req)
}

// TestTimestampedWebhook: a hook with max_age takes only deliveries whose
// signature covers a fresh timestamp, and refuses a captured delivery
// sent again under another delivery id (or none); a body-only signature
// (golive's or GitHub's) is refused; a delivery that started nothing may
// be sent again.
func TestTimestampedWebhook(t *testing.T) {
	e := allPlans(t)
	tokens, err := os.ReadFile(e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	e.extraEnv = []string{"GOLIVE_HOOK_SHOP=" + hookKey}
	hook := "hooks:\n  - plan: shop\n    secret_env: GOLIVE_HOOK_SHOP\n    as: ci\n    max_age: %s\n"
	// A max_age past a day (or not a duration) does not start the server.
	os.WriteFile(e.tokens, append(tokens, fmt.Sprintf(hook, "48h")...), 0o600)
	out, err := e.command("serve", "--addr", "127.0.0.1:0", "--tokens", e.tokens, e.dir).CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "max_age: want a duration from 1s to 24h0m0s") {
		t.Fatalf("serve with max_age 48h: %v\n%s", err, out)
	}
	// Two timestamped hooks may not share a key (each plan keeps the
	// signatures it saw).
	two := fmt.Sprintf(hook, "5m") + "  - plan: other\n    secret_env: GOLIVE_HOOK_SHOP\n    as: ci\n    max_age: 1m\n"
	os.WriteFile(e.tokens, append(tokens, two...), 0o600)
	out, err = e.command("serve", "--addr", "127.0.0.1:0", "--tokens", e.tokens, e.dir).CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "the hooks of shop and other have the same key") {
		t.Fatalf("serve with two timestamped hooks of one key: %v\n%s", err, out)
	}
	os.WriteFile(e.tokens, append(tokens, fmt.Sprintf(hook, "5m")...), 0o600)
	s := e.serve("--tokens", e.tokens, e.dir)
	body := []byte(`{"release": "7.0", "ticket": "CHG-7"}`)
	now := time.Now().Unix()
	if a := s.deliver("shop", hookKey, "t-0", "", body); a.Status != 401 || !strings.Contains(a.str("error"), "TIMESTAMP.BODY") {
		t.Errorf("a body-only signature to a timestamped hook: %d %s", a.Status, a.Raw)
	}
	for _, ts := range []int64{now - 3600, now + 3600} {
		if a := s.deliverAt("shop", hookKey, "t-1", ts, body); a.Status != 401 || !strings.Contains(a.str("error"), "at most 5m0s") {
			t.Errorf("timestamp %+ds: %d %s", ts-now, a.Status, a.Raw)
		}
	}
	if a := s.deliverAt("shop", "wrong-key-0123456789abcdef", "t-1", now, body); a.Status != 401 {
		t.Errorf("wrong key: %d %s", a.Status, a.Raw)
	}
	a := s.deliverAt("shop", hookKey, "t-1", now, body)
	if a.Status != 202 || a.str("release") != "7.0" {
		t.Fatalf("a fresh timestamped delivery: %d %s", a.Status, a.Raw)
	}
	s.waitState(a.str("id"), "succeeded")
	for _, id := range []string{"t-1", "t-2-new-id", ""} {
		if r := s.deliverAt("shop", hookKey, id, now, body); r.Status != 409 || r.str("code") != "replayed" {
			t.Errorf("the captured delivery sent again with delivery id %q: %d %s", id, r.Status, r.Raw)
		}
	}
	// The same body signed again with a new timestamp is a new delivery
	// (a CI job run again): it reaches the review, which finds 7.0 live.
	if b := s.deliverAt("shop", hookKey, "", now+1, body); b.Status != 412 || b.str("code") != "no_go" {
		t.Fatalf("the same body with a new timestamp: %d %.300s", b.Status, b.Raw)
	}
	// A delivery refused for its content started nothing, but its
	// signature stays seen: sent again it is a replay (a run the sender
	// saw refused must not start later); signed anew it is judged again.
	bad := []byte(`{"release": "7.1; rm -rf /"}`)
	if r := s.deliverAt("shop", hookKey, "t-bad", now, bad); r.Status != 422 {
		t.Errorf("a bad release, timestamped: %d %s", r.Status, r.Raw)
	}
	if r := s.deliverAt("shop", hookKey, "t-bad-2", now, bad); r.Status != 409 || r.str("code") != "replayed" {
		t.Errorf("a refused delivery sent again: %d %s", r.Status, r.Raw)
	}
	if r := s.deliverAt("shop", hookKey, "t-bad", now+2, bad); r.Status != 422 {
		t.Errorf("a refused delivery signed anew (its id forgotten): %d %s", r.Status, r.Raw)
	}
	// An id that could be taken for one golive makes is refused.
	if r := s.deliverAt("shop", hookKey, "signature:00ff", now+3, body); r.Status != 422 || !strings.Contains(r.str("error"), "ids golive makes itself") {
		t.Errorf("a delivery id signature:...: %d %s", r.Status, r.Raw)
	}
	audit := s.must(200, "GET", "/api/v1/audit", "vera", nil)
	if !strings.Contains(audit.Raw, "timestamp") || !strings.Contains(audit.Raw, "TIMESTAMP.BODY") {
		t.Errorf("the refusals are not in the audit: %s", audit.Raw)
	}
}

// TestTimestampedRecipeSigns: the shell recipe of docs/server.md (printf
// and openssl) signs TIMESTAMP.BODY as the server checks it.
func TestTimestampedRecipeSigns(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	body, ts := `{"release":"v1.2","ticket":"CHG-9"}`, "1790000000"
	cmd := exec.Command("sh", "-c", `printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.* //'`)
	cmd.Env = append(os.Environ(), "ts="+ts, "body="+body, "KEY="+hookKey)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(hookKey))
	mac.Write([]byte(ts + "." + body))
	if got, want := strings.TrimSpace(string(out)), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("the recipe signs %s, the server wants %s", got, want)
	}
}
