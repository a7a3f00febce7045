package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// TestBrowserSession: a token given once signs in; the cookie is
// HttpOnly and SameSite=Strict and reads; a write by the cookie needs the
// CSRF token or a same-origin Origin (a cross-site form gets 403); after
// signing out the cookie is nothing.
func TestBrowserSession(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	call := func(method, path string, body any, hdr map[string]string) (int, string, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, s.url+path, rd)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), resp.Header
	}
	if code, _, _ := call("POST", "/api/v1/session", map[string]string{"token": "wrong"}, nil); code != 401 {
		t.Errorf("sign in with a wrong token: %d", code)
	}
	code, raw, hdr := call("POST", "/api/v1/session", map[string]string{"token": secret("alice")}, nil)
	if code != 201 {
		t.Fatalf("sign in: %d %s", code, raw)
	}
	ck := hdr.Get("Set-Cookie")
	if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, secret("alice")) {
		t.Errorf("cookie: %s", ck)
	}
	var who struct{ Name, CSRF string }
	json.Unmarshal([]byte(raw), &who)
	if who.Name != "alice" || who.CSRF == "" || strings.Contains(raw, secret("alice")) {
		t.Fatalf("sign-in answer: %s", raw)
	}
	if code, raw, _ := call("GET", "/api/v1/runs", nil, nil); code != 200 {
		t.Errorf("read by the cookie: %d %s", code, raw)
	}
	start := map[string]any{"plan": "shop", "release": "1.0"}
	for _, h := range []map[string]string{nil, {"Origin": "https://evil.example"}, {"X-CSRF-Token": "guess"}, {"Origin": "null"}} {
		if code, raw, _ := call("POST", "/api/v1/runs", start, h); code != 403 || !strings.Contains(raw, `"csrf"`) {
			t.Errorf("write by the cookie with %v: %d %s", h, code, raw)
		}
	}
	if code, raw, _ := call("POST", "/api/v1/runs", start, map[string]string{"X-CSRF-Token": who.CSRF}); code != 201 {
		t.Fatalf("write with the CSRF token: %d %s", code, raw)
	}
	code, raw, _ = call("POST", "/api/v1/plans/shop/review", map[string]any{"release": "1.1"}, map[string]string{"Origin": s.url})
	if code != 200 {
		t.Errorf("same-origin write: %d %s", code, raw)
	}
	if code, _, _ := call("DELETE", "/api/v1/session", nil, nil); code != 204 {
		t.Errorf("sign out: %d", code)
	}
	old := strings.SplitN(strings.SplitN(ck, ";", 2)[0], "=", 2)[1]
	if code, _, _ := call("GET", "/api/v1/runs", nil, map[string]string{"Cookie": "golive_session=" + old}); code != 401 {
		t.Errorf("read with the cookie of a session signed out: %d", code)
	}
}
