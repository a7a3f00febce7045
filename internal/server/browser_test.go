package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The web UI in a real headless Chromium (Debian's chromium, driven with
// chromedp) against the real binary. One browser serves every test of
// this binary; each test works in its own browser context (its own
// cookies) and under its own deadline. Without chromium the tests skip.
//
// GOLIVE_UI_SCREENSHOTS=DIR also saves the run page's screenshots there
// (docs/img is where the docs take them from).

var browser struct {
	once   sync.Once
	ctx    context.Context // the browser
	cancel func()
	err    error
}

// closeBrowser ends the shared browser (TestMain, after the tests).
func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab opens a tab of the shared browser in a new browser context, with a
// deadline; the tab closes when the test ends.
func tab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no chromium: install Debian's chromium package (./scripts/test does) to run the browser tests")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.WindowSize(1100, 900))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browser.ctx, browser.cancel = ctx, func() { cancel(); cancelAlloc() }
		// The first action starts the browser, bound to the context it
		// runs on: the browser's own, with a timer in place of a deadline.
		timer := time.AfterFunc(60*time.Second, browser.cancel)
		browser.err = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
		timer.Stop()
	})
	if browser.err != nil {
		t.Fatalf("starting chromium: %v", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

// do runs actions, failing the test with what the page shows.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, bodyText(ctx))
	}
}

func bodyText(ctx context.Context) string {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor polls the page until the JavaScript expression is true.
func waitFor(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, expr, err, bodyText(ctx))
	}
}

// signIn signs the tab in with the token of name, through the form.
func signIn(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	do(t, ctx, "sign in as "+name,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), secret(name)))
	submit(t, ctx, "sign in as "+name, "signin")
	do(t, ctx, "signed in", chromedp.WaitVisible(chromedp.ID("who")))
	if who := eval[string](t, ctx, `document.getElementById("who").textContent`); who != name {
		t.Fatalf("signed in as %q, want %s", who, name)
	}
}

// submit clicks the button with id and waits for the page it leads to
// (a form's POST and its redirect).
func submit(t *testing.T, ctx context.Context, what, id string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(c, chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, bodyText(ctx))
	}
}

// cellState is the data-state of host's step cell, or "?" when absent.
func cellState(host, step string) string {
	return fmt.Sprintf(`(function(){var c=document.querySelector('tr[data-host=%q] td[data-step=%q]');return c?c.getAttribute('data-state'):'?'})()`, host, step)
}

const runStateJS = `document.getElementById('run-state').getAttribute('data-state')`

func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("GOLIVE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // the whole page, timeline included
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// uiPlan is shopPlan with a second step that fails on h2 for release
// "bad", with hostile output; the switch holds while DIR/hold exists and
// DIR/go does not.
const uiPlan = `golive: 1
name: shop
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
      - name: smoke
        run: 'if [ "$GOLIVE_RELEASE" = bad ] && [ $GOLIVE_HOST = h2 ]; then echo "smoke <b>failed</b> on h2"; exit 3; fi'
`

// TestUIBrowserRelease: the runs list shows a run made at a terminal; a
// run started from the Release form (review first, then Start) appears
// and its matrix cells change live, without a reload, until it succeeds.
func TestUIBrowserRelease(t *testing.T) {
	ctx := tab(t, 150*time.Second)
	e := newEnv(t, map[string]string{"shop": uiPlan})
	dir := filepath.Join(e.dir, "shop")
	plan := filepath.Join(dir, "golive.yaml")
	if out, err := e.command("run", "-f", plan, "-r", "0.9", "--as", "carol").CombinedOutput(); err != nil {
		t.Fatalf("golive run at the terminal: %v\n%s", err, out)
	}
	s := e.serve("--tokens", e.tokens, e.dir)
	signIn(t, ctx, s.url, "alice")
	// The runs list has the terminal's run.
	waitFor(t, ctx, "the terminal's run in the list", `!!document.querySelector('tr[data-run][data-state="succeeded"]') && document.body.innerText.includes('carol')`, 20*time.Second)

	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	do(t, ctx, "review 1.0",
		chromedp.Navigate(s.url+"/plans/shop"),
		chromedp.SendKeys(chromedp.ID("f-release"), "1.0"),
		chromedp.SendKeys(chromedp.ID("f-ticket"), "CHG-42"))
	submit(t, ctx, "review", "review")
	report := eval[string](t, ctx, `document.getElementById('review-report').innerText`)
	if !strings.Contains(report, "✔") || !strings.Contains(report, "go") {
		t.Fatalf("the review report: %s", report)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "current-h1")); strings.TrimSpace(string(data)) != "0.9" {
		t.Fatalf("the review changed h1: current %q", data)
	}
	submit(t, ctx, "start", "start")
	loc := eval[string](t, ctx, `location.pathname`)
	if !strings.HasPrefix(loc, "/runs/r-") {
		t.Fatalf("after Start the browser is at %s", loc)
	}
	id := strings.TrimPrefix(loc, "/runs/")
	// Mark this document: a reload would lose the mark.
	eval[bool](t, ctx, `window.goliveMark = true`)
	waitFor(t, ctx, "h1's switch running", cellState("h1", "switch")+` === 'started'`, 30*time.Second)
	if st := eval[string](t, ctx, cellState("h2", "switch")); st != "" {
		t.Errorf("h2's switch before h1's batch ended: %q, want not reached", st)
	}
	screenshot(t, ctx, "ui-run-running.png")
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	waitFor(t, ctx, "h2's smoke finished", cellState("h2", "smoke")+` === 'finished'`, 60*time.Second)
	waitFor(t, ctx, "the run succeeded", runStateJS+` === 'succeeded'`, 30*time.Second)
	waitFor(t, ctx, "the page stops following the finished run", `document.getElementById('live-note').hidden`, 10*time.Second)
	if !eval[bool](t, ctx, `window.goliveMark === true`) {
		t.Error("the page was reloaded: the live update must change the DOM in place")
	}
	if got := eval[string](t, ctx, cellState("h1", "switch")); got != "finished" {
		t.Errorf("h1's switch: %q", got)
	}
	// Progress: both hosts done.
	if v := eval[string](t, ctx, `document.querySelector('progress').getAttribute('value')+'/'+document.querySelector('progress').getAttribute('max')`); v != "2/2" {
		t.Errorf("progress %s", v)
	}
	// The review made at the start is on the run's page.
	if txt := bodyText(ctx); !strings.Contains(txt, "CHG-42") || !strings.Contains(txt, "Review") {
		t.Errorf("the run page lacks the ticket or the review:\n%s", txt)
	}
	screenshot(t, ctx, "ui-run-succeeded.png")
	// The runs list shows the new run.
	do(t, ctx, "runs list", chromedp.Navigate(s.url+"/?plan=shop"), chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+id+`"]`)))
}

// TestUIBrowserFailure: a run started elsewhere appears in an open runs
// list; a release failing on h2 shows the failure (exit code, output as
// text) live and ends backed out.
func TestUIBrowserFailure(t *testing.T) {
	ctx := tab(t, 120*time.Second)
	e := newEnv(t, map[string]string{"shop": uiPlan})
	dir := filepath.Join(e.dir, "shop")
	os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
	s := e.serve("--tokens", e.tokens, e.dir)
	signIn(t, ctx, s.url, "dan")
	// The runs list, open before the run exists, shows it without a reload.
	eval[bool](t, ctx, `window.goliveMark = true`)
	// /api/v1/events streams the changes after the moment it is opened.
	waitFor(t, ctx, "the list following the runs", `!document.getElementById('live-note').hidden`, 20*time.Second)
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "bad"}).str("id")
	waitFor(t, ctx, "the new run in the open runs list", `!!document.querySelector('tr[data-run="`+id+`"]') && window.goliveMark === true`, 20*time.Second)
	do(t, ctx, "the run page", chromedp.Navigate(s.url+"/runs/"+id), chromedp.WaitVisible(chromedp.ID("run-state")))
	eval[bool](t, ctx, `window.goliveMark = true`)
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	waitFor(t, ctx, "backed out", runStateJS+` === 'backed_out'`, 60*time.Second)
	waitFor(t, ctx, "the page stops following the finished run", `document.getElementById('live-note').hidden`, 10*time.Second)
	waitFor(t, ctx, "the failure", `!!document.querySelector('.failure[data-host="h2"][data-step="smoke"]')`, 10*time.Second)
	fail := eval[string](t, ctx, `document.querySelector('.failure').innerText`)
	if !strings.Contains(fail, "exit 3") || !strings.Contains(fail, "smoke <b>failed</b> on h2") {
		t.Errorf("the failure: %s", fail)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('.failure b').length`); n != 0 {
		t.Error("the step's output became markup")
	}
	if st := eval[string](t, ctx, cellState("h1", "switch")); st != "backed_out" {
		t.Errorf("h1's switch: %q, want backed_out", st)
	}
	if !eval[bool](t, ctx, `window.goliveMark === true`) {
		t.Error("the page was reloaded")
	}
	screenshot(t, ctx, "ui-run-backed-out.png")
	if _, err := os.Stat(filepath.Join(dir, "current-h1")); err == nil {
		t.Error("h1 is not backed out")
	}
}

// TestUIBrowserApproveAndAbort: a viewer sees no button; the approval of
// a second identity (bob) makes a waiting run go on; Abort with a reason
// (and its confirmation) backs a running release out.
func TestUIBrowserApproveAndAbort(t *testing.T) {
	e := newEnv(t, map[string]string{"gated": gatedPlan, "shop": uiPlan})
	s := e.serve("--tokens", e.tokens, e.dir)
	waiting := s.must(201, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "gated", "release": "1.0", "ticket": "CHG-7"})
	wid := waiting.str("id")
	if waiting.str("state") != "waiting" {
		t.Fatalf("want a waiting run: %s", waiting.Raw)
	}

	t.Run("viewer", func(t *testing.T) {
		ctx := tab(t, 60*time.Second)
		signIn(t, ctx, s.url, "vera")
		for _, path := range []string{"/runs/" + wid, "/plans/gated", "/"} {
			do(t, ctx, path, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.ID("main")))
			if n := eval[int](t, ctx, `document.querySelectorAll('main form[method=post], main button:not(.filter)').length`); n != 0 {
				t.Errorf("%s: a viewer sees %d forms or buttons:\n%s", path, n, bodyText(ctx))
			}
		}
	})

	t.Run("phone", func(t *testing.T) {
		// On a phone the page does not scroll sideways (the matrix
		// scrolls in its own box) and Abort is within reach.
		ctx := tab(t, 60*time.Second)
		signIn(t, ctx, s.url, "alice")
		do(t, ctx, "phone", chromedp.EmulateViewport(390, 800), chromedp.Navigate(s.url+"/runs/"+wid), chromedp.WaitVisible(chromedp.ID("abort")))
		if ok := eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth && document.getElementById('abort').getBoundingClientRect().right <= window.innerWidth`); !ok {
			t.Errorf("on a 390px wide screen the page scrolls sideways or Abort is out of reach")
		}
		// alice requested the run (allow_self: false): she is told so,
		// and offered no Approve her decision would not count for.
		if n := eval[int](t, ctx, `document.querySelectorAll('#approve, #reject').length`); n != 0 {
			t.Error("the requester is offered Approve/Reject under allow_self: false")
		}
		if txt := eval[string](t, ctx, `(document.getElementById('not-approver')||{}).textContent||''`); !strings.Contains(txt, "someone else decides") {
			t.Errorf("the requester's note: %q", txt)
		}
	})

	t.Run("approve", func(t *testing.T) {
		ctx := tab(t, 90*time.Second)
		signIn(t, ctx, s.url, "bob")
		do(t, ctx, "the waiting run",
			chromedp.Navigate(s.url+"/runs/"+wid),
			chromedp.WaitVisible(chromedp.ID("approve")),
			chromedp.SendKeys(chromedp.ID("approve-comment"), "looks good"))
		submit(t, ctx, "approve", "approve")
		waitFor(t, ctx, "the approved run succeeded", runStateJS+` === 'succeeded'`, 60*time.Second)
		if txt := bodyText(ctx); !strings.Contains(txt, "bob (api)") || !strings.Contains(txt, "looks good") {
			t.Errorf("the approval is not shown:\n%s", txt)
		}
	})

	t.Run("abort", func(t *testing.T) {
		ctx := tab(t, 90*time.Second)
		dir := filepath.Join(e.dir, "shop")
		os.WriteFile(filepath.Join(dir, "hold"), nil, 0o644)
		id := s.must(201, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "shop", "release": "2.0"}).str("id")
		signIn(t, ctx, s.url, "dan")
		do(t, ctx, "the run page", chromedp.Navigate(s.url+"/runs/"+id), chromedp.WaitVisible(chromedp.ID("abort")))
		waitFor(t, ctx, "h1's switch running", cellState("h1", "switch")+` === 'started'`, 30*time.Second)
		// Without the confirmation the browser does not send the form.
		do(t, ctx, "abort unconfirmed", chromedp.SendKeys(chromedp.ID("abort-reason"), "wrong build <img src=x onerror=window.pwned=1>"), chromedp.Click(chromedp.ID("abort")))
		if loc := eval[string](t, ctx, `location.pathname`); loc != "/runs/"+id {
			t.Fatalf("an unconfirmed abort was sent: at %s", loc)
		}
		do(t, ctx, "confirm", chromedp.Click(chromedp.ID("abort-confirm")))
		submit(t, ctx, "abort", "abort")
		waitFor(t, ctx, "backed out", runStateJS+` === 'backed_out'`, 60*time.Second)
		if txt := bodyText(ctx); !strings.Contains(txt, "wrong build <img src=x onerror=window.pwned=1>") {
			t.Errorf("the abort's reason is not shown as text:\n%s", txt)
		}
		if eval[bool](t, ctx, `window.pwned === 1 || document.querySelectorAll('main img').length > 0`) {
			t.Error("the abort's reason became markup")
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#abort').length`); n != 0 {
			t.Error("Abort is still offered on a backed-out run")
		}
	})
}
