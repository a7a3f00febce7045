package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// journalExact checks a finished run's journal (as the API or `golive
// logs --json` give it) after a stop mid-run and a continuation: seqs
// 1..n without gaps or repeats; the run paused once and ended succeeded;
// every host's switch finished (exit 0) exactly once (nothing the journal had as
// done was done again).
func journalExact(t *testing.T, events []map[string]any, hosts ...string) {
	t.Helper()
	var states []string
	done := map[string]int{}
	for i, ev := range events {
		if ev["seq"] != float64(i+1) {
			t.Fatalf("event %d has seq %v: the journal has a gap or a repeat", i+1, ev["seq"])
		}
		switch {
		case ev["kind"] == "state":
			states = append(states, ev["action"].(string))
		case ev["kind"] == "step" && ev["action"] == "finished" && ev["step"] == "switch" && ev["exit_code"] == float64(0):
			done[ev["host"].(string)]++
		}
	}
	paused := 0
	for _, s := range states {
		if s == "paused" {
			paused++
		}
	}
	if paused != 1 || len(states) == 0 || states[len(states)-1] != "succeeded" {
		t.Errorf("states %v: want one pause and succeeded last", states)
	}
	for _, h := range hosts {
		if done[h] != 1 {
			t.Errorf("host %s: switch succeeded %d times in the journal, want once", h, done[h])
		}
	}
}

// stopMidRun starts a run of shop whose step waits (hold), stops the
// server with SIGTERM and checks the run is left paused.
func stopMidRun(t *testing.T, e *env) string {
	t.Helper()
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	s := e.serve("--tokens", e.tokens, "--drain-timeout", "2s", e.dir)
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "4.0"}).str("id")
	time.Sleep(300 * time.Millisecond) // h1's step is in flight, waiting
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exit %d\n%s", code, s.stderr.String())
	}
	return id
}

// TestSIGTERMThenNewServer: SIGTERM mid-run; the next server's API
// resumes the run, which finishes with its journal exact.
func TestSIGTERMThenNewServer(t *testing.T) {
	e := allPlans(t)
	id := stopMidRun(t, e)
	s := e.serve("--tokens", e.tokens, e.dir)
	if a := s.must(200, "GET", "/api/v1/runs/"+id, "vera", nil); a.str("state") != "paused" {
		t.Fatalf("the next server sees: %s", a.Raw)
	}
	os.WriteFile(filepath.Join(e.dir, "shop", "go"), nil, 0o644)
	s.must(403, "POST", "/api/v1/runs/"+id+"/resume", "vera", nil)
	s.must(202, "POST", "/api/v1/runs/"+id+"/resume", "dan", nil)
	s.waitState(id, "succeeded")
	j := s.must(200, "GET", "/api/v1/runs/"+id+"/events?after=0", "vera", nil)
	var events []map[string]any
	for _, x := range j.Body["events"].([]any) {
		events = append(events, x.(map[string]any))
	}
	journalExact(t, events, "h1", "h2")
	for _, h := range []string{"h1", "h2"} {
		if data, _ := os.ReadFile(filepath.Join(e.dir, "shop", "current-"+h)); strings.TrimSpace(string(data)) != "4.0" {
			t.Errorf("%s: current %q", h, data)
		}
	}
}

// TestSIGTERMThenResumeJournal: after SIGTERM mid-run, `golive resume` at
// a terminal finishes the run; `golive logs --json` shows the journal
// exact.
func TestSIGTERMThenResumeJournal(t *testing.T) {
	e := allPlans(t)
	id := stopMidRun(t, e)
	plan := filepath.Join(e.dir, "shop", "golive.yaml")
	os.WriteFile(filepath.Join(e.dir, "shop", "go"), nil, 0o644)
	if out, err := e.command("resume", id, "-f", plan).CombinedOutput(); err != nil {
		t.Fatalf("golive resume: %v\n%s", err, out)
	}
	out, err := e.command("logs", id, "-f", plan, "--json").Output()
	if err != nil {
		t.Fatalf("golive logs --json: %v", err)
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("golive logs --json: %v: %s", err, sc.Text())
		}
		events = append(events, ev)
	}
	journalExact(t, events, "h1", "h2")
}

// TestRunChangesStream: GET /api/v1/events streams `event: run` for each
// state a run reaches, to the tokens that may see its plan only.
func TestRunChangesStream(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	type msgs struct {
		data []string
		err  error
	}
	watch := func(token string, until string) (chan msgs, context.CancelFunc) {
		ch := make(chan msgs, 1)
		req, _ := http.NewRequest("GET", s.url+"/api/v1/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+secret(token))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		req = req.WithContext(ctx)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		go func() {
			defer cancel()
			defer resp.Body.Close()
			var m msgs
			sc := bufio.NewScanner(resp.Body)
			event := ""
			for sc.Scan() {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "event: "); ok {
					event = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok && event == "run" {
					m.data = append(m.data, v)
					if until != "" && strings.Contains(v, until) {
						break
					}
				}
			}
			m.err = sc.Err()
			ch <- m
		}()
		return ch, cancel
	}
	vera, _ := watch("vera", `"succeeded"`)
	other, stopOther := watch("other", "")
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "5.0"}).str("id")
	got := <-vera
	if len(got.data) == 0 || !strings.Contains(got.data[len(got.data)-1], id) || !strings.Contains(got.data[len(got.data)-1], `"succeeded"`) {
		t.Fatalf("vera's stream: %v (%v)", got.data, got.err)
	}
	for _, d := range got.data {
		var r map[string]any
		if err := json.Unmarshal([]byte(d), &r); err != nil || r["plan"] != "shop" {
			t.Errorf("run message: %s", d)
		}
	}
	time.Sleep(500 * time.Millisecond) // what other would have been sent with vera's
	stopOther()
	o := <-other
	if len(o.data) != 0 {
		t.Errorf("a token for plan other saw shop's runs: %v", o.data)
	}
}
