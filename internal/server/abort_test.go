package server_test

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAbortOverAPI: abort answers 202 and the run executing in the server
// stops and is backed out; a second abort is a conflict. The run-level
// stream tells the change.
func TestAbortOverAPI(t *testing.T) {
	e := allPlans(t)
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	s := e.serve("--tokens", e.tokens, e.dir)
	changes := s.runChanges("vera")
	run := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "5.0"})
	id := run.str("id")
	s.must(403, "POST", "/api/v1/runs/"+id+"/abort", "bob", map[string]any{"reason": "no"})
	a := s.must(202, "POST", "/api/v1/runs/"+id+"/abort", "dan", map[string]any{"reason": "wrong build"})
	if a.str("accepted") != "abort" {
		t.Errorf("abort: %s", a.Raw)
	}
	done := s.waitState(id, "backed_out", "aborted")
	if !strings.Contains(done.str("reason"), "wrong build") && !strings.Contains(s.must(200, "GET", "/api/v1/runs/"+id+"/events", "vera", nil).Raw, "wrong build") {
		t.Errorf("the reason is not recorded: %s", done.Raw)
	}
	s.must(409, "POST", "/api/v1/runs/"+id+"/abort", "dan", nil)
	if _, err := os.Stat(filepath.Join(dir, "current-h1")); err == nil {
		t.Error("h1 is not backed out")
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line := <-changes:
			if strings.Contains(line, id) && strings.Contains(line, `"state":"`+done.str("state")+`"`) {
				return
			}
		case <-deadline:
			t.Fatalf("/api/v1/events did not tell run %s ended", id)
		}
	}
}

// runChanges follows /api/v1/events and sends each data line.
func (p *proc) runChanges(token string) <-chan string {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/api/v1/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+secret(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("/api/v1/events: %v %v", err, resp)
	}
	p.t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case out <- d:
				default:
				}
			}
		}
	}()
	return out
}

// TestMetrics: /metrics (no token on loopback) counts the runs executed
// here by outcome, their steps, the hosts backed out and the requests.
func TestMetrics(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "7.0"}).str("id")
	s.waitState(id, "succeeded")
	time.Sleep(200 * time.Millisecond)
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	for _, want := range []string{
		`golive_runs_total{env="",outcome="succeeded",plan="shop"} 1`,
		`golive_step_duration_seconds_count{outcome="finished",plan="shop"} 2`,
		`golive_run_duration_seconds_count{outcome="succeeded",plan="shop"} 1`,
		`golive_api_requests_total{code="201",method="POST"} 1`,
		`golive_active_runs 0`,
		`# TYPE golive_sse_delivery_seconds histogram`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(b.String())
	}
}
