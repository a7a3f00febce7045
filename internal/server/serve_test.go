package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shopPlan releases to two local hosts; the step of h2 waits for the
// file DIR/go when DIR/hold exists.
const shopPlan = `golive: 1
name: shop
vars:
  color: {value: blue, settable: "^(blue|green)$"}
  dir: /srv
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: DIR}
    h2: {dir: DIR}
stages:
  - name: all
    on: all
    strategy: {batch: 1}
    steps:
      - name: switch
        run: 'if [ -f DIR/hold ]; then while [ ! -f DIR/go ]; do sleep 0.05; done; fi; echo $GOLIVE_RELEASE > DIR/current-$GOLIVE_HOST'
        backout: 'rm -f DIR/current-$GOLIVE_HOST'
`

// gatedPlan needs a ticket and one approval by someone else.
const gatedPlan = `golive: 1
name: gated
targets:
  defaults: {transport: local}
  hosts:
    g1: {dir: DIR}
controls:
  ticket: {required: true, pattern: '^CHG-[0-9]+$'}
  approvals: {required: 1, approvers: [alice, bob], allow_self: false}
stages:
  - name: all
    on: all
    steps:
      - {name: switch, run: 'echo $GOLIVE_RELEASE > DIR/current', backout: 'rm -f DIR/current'}
`

const otherPlan = `golive: 1
name: other
targets:
  defaults: {transport: local}
  hosts:
    o1: {dir: DIR}
stages:
  - name: all
    on: all
    steps:
      - {name: switch, run: 'true'}
`

func allPlans(t *testing.T) *env {
	return newEnv(t, map[string]string{"shop": shopPlan, "gated": gatedPlan, "other": otherPlan})
}

// TestRolesEachRoute: every route answered for every role as the
// contract says: 401 without a (known) token, 403 without the role or
// outside the token's plans, else the route's own answer.
func TestRolesEachRoute(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	// A run of shop to act on.
	run := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "1.0"})
	id := run.str("id")
	s.waitState(id, "succeeded")

	type route struct {
		method, path string
		body         any
		need         string // read, deploy, approve
		ok           int    // the answer when allowed
	}
	routes := []route{
		{"GET", "/api/v1/plans", nil, "read", 200},
		{"GET", "/api/v1/plans/shop/preview?release=1.1", nil, "read", 200},
		{"POST", "/api/v1/plans/shop/review", map[string]any{"release": "1.1"}, "deploy", 200},
		{"POST", "/api/v1/runs", map[string]any{"plan": "shop", "release": "bad release"}, "deploy", 422},
		{"GET", "/api/v1/runs", nil, "read", 200},
		{"GET", "/api/v1/runs/" + id, nil, "read", 200},
		{"GET", "/api/v1/runs/" + id + "/events?after=0", nil, "read", 200},
		{"POST", "/api/v1/runs/" + id + "/approve", map[string]any{"comment": "ok"}, "approve", 409},
		{"POST", "/api/v1/runs/" + id + "/reject", map[string]any{"reason": "no"}, "approve", 409},
		{"POST", "/api/v1/runs/" + id + "/confirm", nil, "approve", 409},
		{"POST", "/api/v1/runs/" + id + "/abort", map[string]any{"reason": "stop"}, "deploy", 409},
		{"POST", "/api/v1/runs/" + id + "/resume", nil, "deploy", 409},
		{"GET", "/api/v1/runs/" + id + "/report", nil, "read", 200},
		{"GET", "/api/v1/events", nil, "read", 406}, // a stream: without Accept: text/event-stream
		{"GET", "/api/v1/session", nil, "read", 200},
		{"GET", "/api/v1/audit", nil, "read", 200},
		{"GET", "/api/v1/audit?plan=shop", nil, "read", 200},
	}
	everyPlan := map[string]bool{"/api/v1/plans": true, "/api/v1/runs": true, "/api/v1/events": true,
		"/api/v1/session": true, "/api/v1/audit": true} // lists filtered by the token's plans
	roles := map[string][]string{"vera": {"read"}, "dan": {"read", "deploy"}, "bob": {"read", "approve"},
		"alice": {"read", "deploy", "approve"}, "root": {"read", "deploy", "approve"}, "other": {"read", "deploy", "approve"}}
	for _, rt := range routes {
		for _, who := range []string{"", "nobody", "vera", "dan", "bob", "alice", "root", "other"} {
			var a answer
			if who == "nobody" {
				a = s.doRaw(rt.method, rt.path, "Bearer not-a-token", rt.body)
			} else {
				a = s.do(rt.method, rt.path, who, rt.body)
			}
			want := rt.ok
			switch {
			case who == "" || who == "nobody":
				want = 401
			case !contains(roles[who], rt.need):
				want = 403
			case who == "other" && !(rt.method == "GET" && everyPlan[rt.path]):
				want = 403 // a token for plan other only
			}
			if a.Status != want {
				t.Errorf("%s %s as %q: want %d, got %d: %s", rt.method, rt.path, who, want, a.Status, a.Raw)
			}
			if a.Status >= 400 && (a.str("error") == "" || a.str("code") == "") {
				t.Errorf("%s %s as %q: error without error and code: %s", rt.method, rt.path, who, a.Raw)
			}
		}
	}
	// A token for plan other sees neither shop's plan nor its runs.
	a := s.must(200, "GET", "/api/v1/plans", "other", nil)
	if strings.Contains(a.Raw, `"shop"`) || !strings.Contains(a.Raw, `"other"`) {
		t.Errorf("plans as other: %s", a.Raw)
	}
	a = s.must(200, "GET", "/api/v1/runs", "other", nil)
	if strings.Contains(a.Raw, id) {
		t.Errorf("runs as other lists a run of shop: %s", a.Raw)
	}
	// Backout (last: it changes the run): a deployer's, in the background.
	for _, who := range []string{"vera", "bob", "other"} {
		s.must(403, "POST", "/api/v1/runs/"+id+"/backout", who, nil)
	}
	s.must(401, "POST", "/api/v1/runs/"+id+"/backout", "", nil)
	s.must(202, "POST", "/api/v1/runs/"+id+"/backout", "dan", nil)
	s.waitState(id, "backed_out")
	if _, err := os.Stat(filepath.Join(e.dir, "shop", "current-h1")); err == nil {
		t.Error("backed out, h1 still has current-h1")
	}
	s.must(409, "POST", "/api/v1/runs/"+id+"/backout", "root", nil)
	s.must(404, "GET", "/api/v1/runs/r-nope", "vera", nil)
	s.must(404, "GET", "/api/v1/plans/nope/preview?release=1", "vera", nil)
	// No token is ever in the log.
	for _, tk := range testTokens {
		if strings.Contains(s.stderr.String(), secret(tk.name)) {
			t.Errorf("the log has the token of %s", tk.name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReadOnlyWithoutTokens: without --tokens everything reads and no
// write is accepted; the server says so at start.
func TestReadOnlyWithoutTokens(t *testing.T) {
	e := allPlans(t)
	s := e.serve(e.dir)
	if !strings.Contains(s.stderr.String(), "read-only") {
		t.Errorf("no read-only notice at start:\n%s", s.stderr.String())
	}
	s.must(200, "GET", "/api/v1/plans", "", nil)
	s.must(200, "GET", "/healthz", "", nil)
	a := s.must(403, "POST", "/api/v1/runs", "", map[string]any{"plan": "shop", "release": "1.0"})
	if a.str("code") != "read_only" {
		t.Errorf("code: %s", a.Raw)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "shop", "current-h1")); err == nil {
		t.Error("a refused write released")
	}
	s.must(200, "GET", "/api/v1/audit", "", nil)
	if _, err := os.Stat(filepath.Join(e.dir, ".golive")); err == nil {
		t.Error("a read-only server made a store of its own")
	}
}

// TestStartRefusals: 422 for every bad value (naming it), an override
// of a var that is not settable over the network, 412 with the report
// for a no-go, 409 while the environment is locked.
func TestStartRefusals(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"plan": "shop", "release": "1.0; touch /tmp/x"}, "release"},
		{map[string]any{"plan": "shop", "release": "1.0", "env": "prod"}, "env"},
		{map[string]any{"plan": "shop", "release": "1.0", "set": map[string]string{"dir": "/etc"}}, "not settable"},
		{map[string]any{"plan": "shop", "release": "1.0", "set": map[string]string{"color": "red"}}, "settable pattern"},
		{map[string]any{"plan": "shop", "release": "1.0", "ticket": "x\x1b[2J"}, "ticket"},
		{map[string]any{"plan": "shop", "release": "1.0", "as": "mallory"}, "unknown field"},
		{map[string]any{"plan": "shop", "release": "1.0", "override_window": "fix\x1b]0;x"}, "control character"},
	} {
		a := s.do("POST", "/api/v1/runs", "dan", c.body)
		if a.Status != 422 && a.Status != 400 || !strings.Contains(a.str("error"), c.want) {
			t.Errorf("%v: want 422 naming %q, got %d %s", c.body, c.want, a.Status, a.Raw)
		}
	}
	a := s.must(412, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "gated", "release": "1.0"})
	if a.str("code") != "no_go" || !strings.Contains(a.Raw, `"report"`) || !strings.Contains(a.Raw, "ticket") {
		t.Errorf("no-go: %s", a.Raw)
	}
	// Break-glass over the API: a plan without controls.override allows none.
	a = s.must(412, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "1.0", "override_window": "hotfix for CVE"})
	if a.str("code") != "no_go" || !strings.Contains(a.Raw, "override") {
		t.Errorf("break-glass without controls.override: %s", a.Raw)
	}
	// Locked: the first run holds the environment.
	os.WriteFile(filepath.Join(e.dir, "shop", "hold"), nil, 0o644)
	first := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "2.0", "set": map[string]string{"color": "green"}})
	if first.str("state") != "running" || first.str("requested_by") == "" {
		t.Errorf("new run: %s", first.Raw)
	}
	a = s.must(409, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "2.1"})
	if a.str("code") != "locked" || !strings.Contains(a.str("error"), first.str("id")) {
		t.Errorf("locked: %s", a.Raw)
	}
	os.WriteFile(filepath.Join(e.dir, "shop", "go"), nil, 0o644)
	done := s.waitState(first.str("id"), "succeeded")
	if ri, _ := done.Body["requester_identity"].(map[string]any); ri["via"] != "api" || ri["name"] != "dan" {
		t.Errorf("requester: %s", done.Raw)
	}
	// The write is journaled with the identity and the remote address.
	ev := s.must(200, "GET", "/api/v1/runs/"+first.str("id")+"/events", "vera", nil)
	if !strings.Contains(ev.Raw, `"api_request"`) || !strings.Contains(ev.Raw, "from 127.0.0.1:") {
		t.Errorf("no journaled request with its address: %s", ev.Raw)
	}
}

// TestRunWatchedOverSSE: a run started over the API is watched over SSE
// to its end; a stream resumed with Last-Event-ID starts after it.
func TestRunWatchedOverSSE(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	os.WriteFile(filepath.Join(e.dir, "shop", "hold"), nil, 0o644)
	run := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "3.0"})
	id := run.str("id")
	got := make(chan []sseMsg, 2)
	for i := 0; i < 2; i++ { // two subscribers of one follower
		go func() { got <- s.stream("/api/v1/runs/"+id+"/events", "vera", "") }()
	}
	// Both subscribed before the run goes on: its events are pushed.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.metrics(), "\ngolive_sse_subscribers 2\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("the two streams are not open:\n%s", s.metrics())
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(filepath.Join(e.dir, "shop", "go"), nil, 0o644)
	t0 := time.Now()
	msgs := <-got
	other := <-got
	// Each stream ends with the run (here well under a second), not at a
	// keep-alive 15s later.
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("the streams ended %v after the run could go on", took)
	}
	if len(msgs) != len(other) {
		t.Errorf("two subscribers saw %d and %d messages", len(msgs), len(other))
	}
	if n := len(msgs); n < 3 || !strings.Contains(msgs[n-2].Data, `"released"`) {
		t.Errorf("the stream ended before the journal did (the lock released): %+v", msgs[n-2:])
	}
	last := msgs[len(msgs)-1]
	if last.Event != "end" || !strings.Contains(last.Data, `"succeeded"`) {
		t.Fatalf("last message: %+v", last)
	}
	for i, m := range msgs[:len(msgs)-1] {
		if m.Event != "journal" || m.ID != strconv.Itoa(i+1) {
			t.Fatalf("message %d: %+v", i, m)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(m.Data), &ev); err != nil || ev["seq"] != float64(i+1) {
			t.Fatalf("message %d data: %s", i, m.Data)
		}
	}
	// The events journaled once the streams were open were pushed to
	// them as they became durable.
	metrics := s.metrics()
	for _, name := range []string{"golive_sse_delivery_seconds", "golive_journal_durable_seconds", "golive_sse_latency_seconds"} {
		if m := regexp.MustCompile(`\n` + name + `_count (\d+)\n`).FindStringSubmatch(metrics); m == nil || m[1] == "0" {
			t.Errorf("no event was pushed: %s_count %v", name, m)
		}
	}
	// What was pushed live is what the journal gives back: a replay of
	// the finished run is the same messages, byte for byte.
	replay := s.stream("/api/v1/runs/"+id+"/events", "vera", "0")
	if len(replay) != len(msgs) {
		t.Fatalf("the replay has %d messages, the live stream %d", len(replay), len(msgs))
	}
	for i := range msgs[:len(msgs)-1] {
		if replay[i] != msgs[i] {
			t.Errorf("message %d live:\n%+v\nreplayed:\n%+v", i, msgs[i], replay[i])
		}
	}
	journal := s.must(200, "GET", "/api/v1/runs/"+id+"/events?after=0", "vera", nil)
	if n := len(journal.Body["events"].([]any)); n < len(msgs)-1 {
		t.Errorf("the journal has %d events, the stream %d", n, len(msgs)-1)
	}
	// Resumed after seq 3: the first message is 4.
	resumed := s.stream("/api/v1/runs/"+id+"/events", "vera", "3")
	if resumed[0].ID != "4" || len(resumed) != len(msgs)-3 {
		t.Errorf("resumed after 3: first %+v, %d messages (of %d)", resumed[0], len(resumed), len(msgs))
	}
	after := s.must(200, "GET", "/api/v1/runs/"+id+"/events?after=3", "vera", nil)
	if first := after.Body["events"].([]any)[0].(map[string]any); first["seq"] != float64(4) {
		t.Errorf("events after 3: %s", after.Raw)
	}
}
