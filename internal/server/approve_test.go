package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestApprovalBySecondIdentity: a run waiting for an approval is not
// approved by its requester (allow_self: false) nor by a viewer; the
// approval of a second identity makes it go on by itself.
func TestApprovalBySecondIdentity(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	run := s.must(201, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "gated", "release": "1.0", "ticket": "CHG-7"})
	id := run.str("id")
	if run.str("state") != "waiting" {
		t.Fatalf("want a waiting run: %s", run.Raw)
	}
	a := s.must(403, "POST", "/api/v1/runs/"+id+"/approve", "alice", map[string]any{"comment": "mine"})
	if a.str("code") != "refused" || !strings.Contains(a.str("error"), "allow_self") {
		t.Errorf("self-approval: %s", a.Raw)
	}
	s.must(403, "POST", "/api/v1/runs/"+id+"/approve", "vera", nil)
	s.must(422, "POST", "/api/v1/runs/"+id+"/approve", "bob", map[string]any{"comment": strings.Repeat("x", 5000)})
	if _, err := os.Stat(filepath.Join(e.dir, "gated", "current")); err == nil {
		t.Fatal("released before the approval")
	}
	a = s.must(200, "POST", "/api/v1/runs/"+id+"/approve", "bob", map[string]any{"comment": "looks good"})
	if a.Body["can_go_on"] != true || a.Body["goes_on"] != true {
		t.Errorf("approval: %s", a.Raw)
	}
	done := s.waitState(id, "succeeded")
	apps := done.Body["approvals"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["by"] != "bob (api)" {
		t.Errorf("approvals: %s", done.Raw)
	}
	if data, _ := os.ReadFile(filepath.Join(e.dir, "gated", "current")); strings.TrimSpace(string(data)) != "1.0" {
		t.Errorf("current: %q", data)
	}
}

// TestCLIOnServerRuns: the CLI lists and approves a run the server
// created, in the same store; the server then starts it by itself.
func TestCLIOnServerRuns(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, "--waiting-every", "200ms", e.dir)
	run := s.must(201, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "gated", "release": "2.0", "ticket": "CHG-8"})
	id := run.str("id")
	plan := filepath.Join(e.dir, "gated", "golive.yaml")
	out, err := e.command("history", "-f", plan).CombinedOutput()
	if err != nil || !strings.Contains(string(out), id) {
		t.Fatalf("golive history: %v\n%s", err, out)
	}
	cmd := e.command("approve", id, "-f", plan, "--as", "bob", "--comment", "from the terminal")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("golive approve: %v\n%s", err, out)
	}
	a := s.must(200, "GET", "/api/v1/runs/"+id, "vera", nil)
	if !strings.Contains(a.Raw, `"by": "bob (os user`) {
		t.Errorf("the CLI's approval is not in the server's status: %s", a.Raw)
	}
	s.waitState(id, "succeeded") // nobody called resume
	out, err = e.command("status", id, "-f", plan, "--json").CombinedOutput()
	var st map[string]any
	if err != nil || json.Unmarshal(out, &st) != nil || st["state"] != "succeeded" {
		t.Errorf("golive status: %v\n%s", err, out)
	}
}

// TestSIGTERMThenResume: SIGTERM while a run executes in the server: the
// server stops, the run is left paused (not a ghost running) holding
// its lock, and `golive resume` finishes it without running again what
// was done.
func TestSIGTERMThenResume(t *testing.T) {
	e := allPlans(t)
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	s := e.serve("--tokens", e.tokens, "--drain-timeout", "2s", e.dir)
	run := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "4.0"})
	id := run.str("id")
	// h1's step waits too (batch 1: h1 first); let it wait a moment.
	time.Sleep(300 * time.Millisecond)
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exit %d\n%s", code, s.stderr.String())
	}
	plan := filepath.Join(dir, "golive.yaml")
	out, err := e.command("status", id, "-f", plan, "--json").CombinedOutput()
	var st map[string]any
	if err != nil || json.Unmarshal(out, &st) != nil {
		t.Fatalf("golive status: %v\n%s", err, out)
	}
	if st["state"] != "paused" || st["controller_gone"] == true {
		t.Fatalf("after SIGTERM: want paused, got %s", out)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	cmd := e.command("resume", id, "-f", plan)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("golive resume: %v\n%s", err, out)
	}
	out, _ = e.command("status", id, "-f", plan, "--json").CombinedOutput()
	json.Unmarshal(out, &st)
	if st["state"] != "succeeded" {
		t.Fatalf("after resume: %s", out)
	}
	for _, h := range []string{"h1", "h2"} {
		if data, _ := os.ReadFile(filepath.Join(dir, "current-"+h)); strings.TrimSpace(string(data)) != "4.0" {
			t.Errorf("%s: current %q", h, data)
		}
	}
	logs, _ := e.command("logs", id, "-f", plan).CombinedOutput()
	for _, want := range []string{"paused", "resumed", "succeeded"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("journal lacks %q:\n%s", want, logs)
		}
	}
}

// TestReport: a run's report as JSON, Markdown and HTML.
func TestReport(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	run := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "6.0", "ticket": "CHG-9"})
	id := run.str("id")
	s.waitState(id, "succeeded")
	a := s.must(200, "GET", "/api/v1/runs/"+id+"/report", "vera", nil)
	if r, _ := a.Body["run"].(map[string]any); r["id"] != id {
		t.Errorf("report: %s", a.Raw)
	}
	for _, c := range []struct{ accept, ctype, want string }{
		{"text/markdown", "text/markdown", "6.0"},
		{"text/html", "text/html", "<pre>"},
	} {
		req, _ := http.NewRequest("GET", s.url+"/api/v1/runs/"+id+"/report", nil)
		req.Header.Set("Accept", c.accept)
		req.Header.Set("Authorization", "Bearer "+secret("vera"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.want) {
			t.Errorf("report as %s: %d %s\n%s", c.accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if !strings.Contains(string(body), "CHG-9") {
			t.Errorf("report as %s lacks the ticket:\n%s", c.accept, body)
		}
		if c.ctype != "text/html" {
			continue
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != "default-src 'none'" {
			t.Errorf("HTML report CSP = %q", csp)
		}
		// The run's timeline, after the report: a row per host, bars.
		page := string(body)
		if i := strings.Index(page, "<svg "); i < strings.Index(page, "</pre>") || !strings.Contains(page[i:], `<g data-row="host"`) ||
			!strings.Contains(page[i:], `<g data-bar="step" data-outcome="ok">`) || !strings.Contains(page, "</svg>") {
			t.Errorf("the HTML report has no timeline after its text:\n%s", body)
		}
	}
}
