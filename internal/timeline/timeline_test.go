package timeline_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

// node is an element of the SVG, parsed by encoding/xml.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// all returns the elements under n (n too) that ok selects, in document
// order.
func (n *node) all(ok func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		if ok(m) {
			out = append(out, m)
		}
		for i := range m.Nodes {
			walk(&m.Nodes[i])
		}
	}
	walk(n)
	return out
}

// with selects elements having attribute name (= value, unless value is "*").
func with(name, value string) func(*node) bool {
	return func(n *node) bool {
		v, ok := n.attr(name)
		return ok && (value == "*" || v == value)
	}
}

// title is the text of n's <title> child.
func (n *node) title() string {
	for _, c := range n.Nodes {
		if c.XMLName.Local == "title" {
			return c.Text
		}
	}
	return ""
}

// text is all the character data under n.
func (n *node) text() string {
	var b strings.Builder
	for _, m := range n.all(func(*node) bool { return true }) {
		b.WriteString(m.Text)
	}
	return b.String()
}

// shown is the character data under n but for tooltips (<title>).
func (n *node) shown() string {
	if n.XMLName.Local == "title" {
		return ""
	}
	var b strings.Builder
	b.WriteString(n.Text)
	for i := range n.Nodes {
		b.WriteString(n.Nodes[i].shown())
	}
	return b.String()
}

// render renders events and parses the SVG, failing the test when it is
// not one well-formed <svg> element (strict XML) or holds anything a CSP
// of default-src 'none' would block. With TIMELINE_OUT set, it also
// writes the SVG there in an HTML page, named after the test.
func render(t *testing.T, events []store.Event, opt timeline.Options) (*node, string) {
	t.Helper()
	var b bytes.Buffer
	if err := timeline.Render(&b, events, opt); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if dir := os.Getenv("TIMELINE_OUT"); dir != "" {
		page := "<!doctype html><meta charset=utf-8><body style='margin:0'>" + svg
		os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".html"), []byte(page), 0o644)
	}
	if !strings.HasPrefix(svg, "<svg ") {
		t.Fatalf("output does not start with <svg: %.80q", svg)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	d.Strict = true
	var root node
	if err := d.Decode(&root); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); err != nil || !ok || strings.TrimSpace(string(cd)) != "" {
			t.Fatalf("more after the <svg> element: %v %v", tok, err)
		}
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element = %v", root.XMLName)
	}
	for _, n := range root.all(func(*node) bool { return true }) {
		switch n.XMLName.Local {
		case "script", "style", "foreignObject", "image", "use", "a", "iframe":
			t.Errorf("the SVG has a <%s> element", n.XMLName.Local)
		}
		for _, a := range n.Attrs {
			if a.Name.Local == "style" || strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "href" {
				t.Errorf("<%s> has attribute %s=%q", n.XMLName.Local, a.Name.Local, a.Value)
			}
		}
	}
	return &root, svg
}

// bars returns the bars of the row of host: data-bar lane -> outcomes.
func rowOf(t *testing.T, root *node, host string) *node {
	t.Helper()
	rows := root.all(func(n *node) bool { v, _ := n.attr("data-host"); return v == host })
	if len(rows) != 1 {
		t.Fatalf("rows of host %q = %d, want 1", host, len(rows))
	}
	return rows[0]
}

type bar struct{ lane, outcome, title string }

func barsOf(row *node) []bar {
	var out []bar
	for _, n := range row.all(with("data-bar", "*")) {
		lane, _ := n.attr("data-bar")
		o, _ := n.attr("data-outcome")
		out = append(out, bar{lane, o, n.title()})
	}
	return out
}

// A real 3-host release: canary web-1 passes; a gate before stage web;
// web-3 fails its switch with exit 7, so the run fails and every host is
// backed out.
func TestFailedRunBackedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"web-1/canary", "web-2", "web-3"}, `stages:
  - name: canary
    on: canary
    steps:
      - {name: fetch, run: 'sleep 0.2', backout: 'sleep 0.1'}
      - {name: switch, run: 'sleep 0.2', backout: 'true'}
    health:
      - {name: up, run: 'true'}
  - name: web
    on: web
    gate: {approvals: 1}
    strategy: {batch: 2, max_failed: 0}
    steps:
      - {name: fetch, run: 'sleep 0.2', backout: 'sleep 0.1'}
      - {name: switch, run: 'sleep 0.2; [ "$GOLIVE_HOST" != web-3 ] || { echo "port 8080 in use" >&2; exit 7; }', backout: 'true'}
`)
	run := f.run()
	if run.State != store.StatePaused {
		t.Fatalf("state at the gate = %s (%s)", run.State, run.Reason)
	}
	run = f.approveAndResume(run, "stage:web")
	if run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s), want backed_out", run.State, run.Reason)
	}
	root, _ := render(t, f.events(run), timeline.Options{Title: "run " + run.ID})

	hosts := root.all(with("data-row", "host"))
	if len(hosts) != 3 {
		t.Fatalf("host rows = %d, want 3", len(hosts))
	}
	// web-3: fetch ok, switch failed with its exit code, both backed out.
	w3 := barsOf(rowOf(t, root, "web-3"))
	want := []bar{{"step", "ok", "step fetch on web-3"}, {"step", "failed", "step switch on web-3: failed, exit 7"},
		{"backout", "backed_out", "backout of step switch on web-3"}, {"backout", "backed_out", "backout of step fetch on web-3"}}
	if len(w3) != len(want) {
		t.Fatalf("web-3 bars = %+v", w3)
	}
	for i, w := range want {
		if w3[i].lane != w.lane || w3[i].outcome != w.outcome || !strings.HasPrefix(w3[i].title, w.title) {
			t.Errorf("web-3 bar %d = %+v, want %+v", i, w3[i], w)
		}
	}
	// Colour is never the only signal: the failed bar is cross-hatched and
	// marked ✘, the backouts hatched and marked ↺, the ok ones marked ✔.
	for _, c := range []struct{ outcome, pattern, mark string }{
		{"failed", "url(#gl-cross)", "✘"}, {"backed_out", "url(#gl-hatch)", "↺"}, {"ok", "", "✔"},
	} {
		for _, g := range rowOf(t, root, "web-3").all(with("data-outcome", c.outcome)) {
			if c.pattern != "" && len(g.all(with("fill", c.pattern))) != 1 {
				t.Errorf("a %s bar is not patterned %s", c.outcome, c.pattern)
			}
			if !strings.HasPrefix(g.shown(), c.mark) {
				t.Errorf("a %s bar is marked %q, want %s", c.outcome, g.shown(), c.mark)
			}
		}
	}
	// web-1: its steps and its health check, all ok, then backed out.
	w1 := barsOf(rowOf(t, root, "web-1"))
	var lanes []string
	for _, b := range w1 {
		lanes = append(lanes, b.lane+":"+b.outcome)
	}
	if got := strings.Join(lanes, " "); got != "step:ok step:ok check:ok backout:backed_out backout:backed_out backout:ok" {
		t.Errorf("web-1 bars = %s", got)
	}
	for host, want := range map[string]string{"web-1": "✔ done  ↺ backed out", "web-3": "✘ failed  ↺ backed out"} {
		sum := rowOf(t, root, host).all(with("data-summary", "*"))
		if len(sum) != 1 || sum[0].shown() != want {
			t.Errorf("%s summary = %q, want %q", host, sum[0].shown(), want)
		}
	}
	// The failure is marked, with its reason, and so is the gate.
	fail := root.all(with("data-marker", "failed"))
	if len(fail) != 1 {
		t.Fatalf("failure markers = %d, want 1", len(fail))
	}
	if !strings.Contains(root.text(), "✘ failed: stage web: 1 host(s) failed") {
		t.Errorf("the failure's reason is not shown:\n%s", root.text())
	}
	if len(root.all(with("data-gate", "stage:web"))) != 1 {
		t.Errorf("the gate before stage web is not marked")
	}
	// Batch boundaries: canary's one batch, web's one batch of 2.
	var headers []string
	for _, n := range root.all(with("data-header", "*")) {
		v, _ := n.attr("data-header")
		headers = append(headers, v)
	}
	if got := strings.Join(headers, " | "); got != "canary · batch 1 · 1 host | web · batch 1 · 2 hosts" {
		t.Errorf("batch headers = %s", got)
	}
	// MaxRows: 3 hosts fit in 3 rows; with 2, the rows are batches.
	for max, want := range map[int][2]int{3: {3, 0}, 2: {0, 2}} {
		root, _ := render(t, f.events(run), timeline.Options{MaxRows: max})
		if h, b := len(root.all(with("data-row", "host"))), len(root.all(with("data-row", "batch"))); h != want[0] || b != want[1] {
			t.Errorf("MaxRows %d: %d host rows and %d batch rows, want %v", max, h, b, want)
		}
	}
}

// A run still going: its journal so far (a prefix of a real one) with
// Now later than its last event draws the open step as running up to Now.
func TestRunningRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"h1", "h2"}, `stages:
  - name: web
    on: web
    steps:
      - {name: fetch, run: 'true', backout: 'true'}
      - {name: switch, run: 'true', backout: 'true'}
`)
	run := f.run()
	all := f.events(run)
	cut := -1
	for i, e := range all { // up to h2's switch starting
		if e.Kind == store.KindStep && e.Host == "h2" && e.Step == "switch" && e.Action == store.ActionStarted {
			cut = i + 1
		}
	}
	if cut < 0 {
		t.Fatal("no start of h2's switch in the journal")
	}
	events := all[:cut]
	last := events[len(events)-1].Time
	root, _ := render(t, events, timeline.Options{Now: last.Add(time.Minute)})
	h2 := barsOf(rowOf(t, root, "h2"))
	if len(h2) != 2 || h2[1].outcome != "running" || !strings.Contains(h2[1].title, "took 1m0") {
		t.Fatalf("h2's bars = %+v, want fetch ok then switch running for a minute", h2)
	}
	sum := rowOf(t, root, "h2").all(with("data-summary", "*"))
	if len(sum) != 1 || sum[0].shown() != "… running" {
		t.Errorf("h2's summary = %q", sum[0].shown())
	}
	if !strings.Contains(root.shown(), "running for 1m0") {
		t.Errorf("the header does not say the run is going:\n%s", root.shown())
	}
	if len(root.all(with("data-marker", "*"))) != 0 {
		t.Errorf("a running run has a failure marker")
	}
	// The finished run: no bar is left running.
	root, _ = render(t, all, timeline.Options{Now: last.Add(time.Hour)})
	for _, n := range root.all(with("data-outcome", "running")) {
		t.Errorf("bar still running in a finished run: %s", n.title())
	}
}

// An empty journal (a run not started) still gives a picture.
func TestNoEvents(t *testing.T) {
	root, _ := render(t, nil, timeline.Options{})
	if !strings.Contains(root.shown(), "nothing ran yet") {
		t.Errorf("empty picture says: %s", root.shown())
	}
}

// Width is the picture's; nothing is drawn outside it, even from events
// whose clocks disagree (a controller that took over with its clock
// behind).
func TestWidthAndSkew(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	evs := []store.Event{
		{Seq: 1, Time: t0, Kind: store.KindState, Action: "running"},
		{Seq: 2, Time: t0, Kind: store.KindStep, Action: store.ActionStarted, Stage: "web", Batch: 1, Host: "a-very-long-host-name-that-does-not-fit-the-column.example.com", Step: "s"},
		{Seq: 3, Time: t0.Add(time.Minute), Kind: store.KindStep, Action: store.ActionFinished, Stage: "web", Batch: 1, Host: "a-very-long-host-name-that-does-not-fit-the-column.example.com", Step: "s"},
		{Seq: 4, Time: t0.Add(-time.Hour), Kind: store.KindStep, Action: store.ActionStarted, Stage: "web", Batch: 1, Host: "b", Step: "s"},
		{Seq: 5, Time: t0.Add(-time.Hour + time.Second), Kind: store.KindStep, Action: store.ActionFinished, Stage: "web", Batch: 1, Host: "b", Step: "s"},
		{Seq: 6, Time: t0.Add(2 * time.Minute), Kind: store.KindState, Action: "succeeded"},
	}
	for _, width := range []int{100, 480, 1400} {
		root, _ := render(t, evs, timeline.Options{Width: width})
		want := max(width, 480)
		if w, _ := root.attr("width"); w != fmt.Sprint(want) {
			t.Errorf("Width %d: width = %s, want %d", width, w, want)
		}
		for _, n := range root.all(with("x", "*")) {
			x, _ := n.attr("x")
			var v float64
			fmt.Sscan(x, &v)
			if v < 0 || v > float64(want) {
				t.Errorf("Width %d: <%s> at x=%s", width, n.XMLName.Local, x)
			}
		}
	}
}

// A real run whose gate is rejected: the wait is shaded up to the
// failure.
func TestRejectedGate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"h1", "a1/app"}, `stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'true', backout: 'true'}
  - name: app
    on: app
    gate: {approvals: 1}
    steps:
      - {name: s, run: 'true', backout: 'true'}
`)
	run := f.run()
	if run.State != store.StatePaused {
		t.Fatalf("state = %s", run.State)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := f.st.AddApproval(context.Background(), store.Approval{RunID: run.ID, Gate: "stage:app", Approver: "bob", Decision: store.DecisionReject,
		Via: store.ViaCLI, OSUser: "bob", Comment: "not today", PlanHash: "hash-1", Release: "2.0"}); err != nil {
		t.Fatal(err)
	}
	run = f.approveAndResume(run, "") // an approval of another gate does not count
	if run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s)", run.State, run.Reason)
	}
	root, svg := render(t, f.events(run), timeline.Options{})
	wait := root.all(with("data-wait", "*"))
	fail := root.all(with("data-marker", "failed"))
	if len(wait) != 1 || len(fail) != 1 {
		t.Fatalf("gate waits = %d, failure markers = %d:\n%s", len(wait), len(fail), svg)
	}
	var x, w, fx float64
	a, _ := wait[0].attr("x")
	b, _ := wait[0].attr("width")
	d, _ := fail[0].attr("d")
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &w)
	fmt.Sscanf(d, "M%f,", &fx)
	if diff := x + w - fx; diff < -1 || diff > 1 {
		t.Errorf("the wait ends at %.1f, the run failed at %.1f", x+w, fx)
	}
	if !strings.Contains(wait[0].title(), "not given") || !strings.Contains(root.shown(), "rejected by bob") {
		t.Errorf("wait: %q; text: %s", wait[0].title(), root.shown())
	}
	if n := len(root.all(with("data-row", "host"))); n != 1 {
		t.Errorf("host rows = %d, want h1's only (a1 never started)", n)
	}
}

// The run's verify checks (no stage; on hosts or the controller) get a
// row of their own, each bar saying where it ran.
func TestVerifyRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"h1", "h2"}, `stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'true', backout: 'true'}
verify:
  - {name: smoke, on: web, run: 'true'}
  - {name: local smoke, local: true, run: 'true'}
`)
	run := f.run()
	if run.State != store.StateSucceeded {
		t.Fatalf("state = %s (%s)", run.State, run.Reason)
	}
	root, _ := render(t, f.events(run), timeline.Options{})
	v := root.all(with("data-row", "verify"))
	if len(v) != 1 {
		t.Fatalf("verify rows = %d", len(v))
	}
	var got []string
	for _, b := range barsOf(v[0]) {
		got = append(got, b.lane+" "+b.outcome+" "+strings.SplitN(b.title, "\n", 2)[0])
	}
	want := "check ok check smoke on h1: passed|check ok check smoke on h2: passed|check ok check local smoke on the controller: passed"
	if strings.Join(got, "|") != want {
		t.Errorf("verify bars:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	if n := len(root.all(with("data-row", "host"))); n != 2 {
		t.Errorf("host rows = %d, want 2", n)
	}
}

// A real run aborted by an operator while a step runs: the request is
// marked with who asked and why, the step ends terminated, and the run's
// failure and backout follow.
func TestAbortedRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"h1"}, `stages:
  - name: web
    on: web
    steps:
      - {name: wait, run: 'touch started; sleep 20', backout: 'true'}
`)
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	ids := make(chan string, 1)
	done := make(chan store.Run, 1)
	go func() {
		out, err := f.engine().Start(ctx, engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: "hash-1",
			Created: func(r store.Run) { ids <- r.ID }})
		if err != nil {
			t.Errorf("Start: %v", err)
			done <- store.Run{}
			return
		}
		done <- out.Run
	}()
	var id string
	select {
	case id = <-ids:
	case r := <-done:
		t.Fatalf("the run ended before it was created: %+v", r)
	case <-ctx.Done():
		t.Fatal("no run was created")
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(f.root, "d0", "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the step did not start")
		}
	}
	if err := engine.RequestAbort(ctx, f.st, id, "carol", "wrong build", false); err != nil {
		t.Fatal(err)
	}
	run := <-done
	if run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s)", run.State, run.Reason)
	}
	root, _ := render(t, f.events(run), timeline.Options{})
	if len(root.all(with("data-marker", "abort requested"))) != 1 || !strings.Contains(root.shown(), "✘ abort requested: by carol") {
		t.Errorf("the abort request is not marked:\n%s", root.shown())
	}
	if len(root.all(with("data-marker", "failed"))) != 1 {
		t.Errorf("the failure is not marked")
	}
	bars := barsOf(rowOf(t, root, "h1"))
	if len(bars) != 2 || bars[0].outcome != "terminated" || bars[1].outcome != "backed_out" {
		t.Errorf("h1's bars = %+v, want the step terminated, then backed out", bars)
	}
}
