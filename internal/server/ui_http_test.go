package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// page is a page fetched without a browser (no JavaScript, as a reader
// without it gets it).
type pageAnswer struct {
	status   int
	body     string
	header   http.Header
	location string
}

func fetchPage(t *testing.T, c *http.Client, method, u string, form url.Values, origin string) pageAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return pageAnswer{status: resp.StatusCode, body: string(data), header: resp.Header, location: resp.Header.Get("Location")}
}

func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hostilePlan's step prints markup and terminal escapes and fails.
const hostilePlan = `golive: 1
name: shop
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: DIR}
stages:
  - name: all
    on: all
    steps:
      - name: switch
        run: 'printf "<script>alert(1)</script> \033]0;pwned\007 <img src=x onerror=alert(2)>\n"; exit 4'
`

// TestUIReadOnlyServer: without --tokens every page reads without
// signing in, shows no action, escapes a step's hostile output, and a
// posted form is refused; the pages carry their CSP.
func TestUIReadOnlyServer(t *testing.T) {
	e := newEnv(t, map[string]string{"shop": hostilePlan})
	plan := filepath.Join(e.dir, "shop", "golive.yaml")
	out, _ := e.command("run", "-f", plan, "-r", "1.0").CombinedOutput()
	id := regexp.MustCompile(`r-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}`).FindString(string(out))
	if id == "" {
		t.Fatalf("no run id in:\n%s", out)
	}
	s := e.serve(e.dir)
	c := noRedirects(nil)
	for _, path := range []string{"/", "/plans/shop", "/runs/" + id, "/runs/" + id + "/log", "/?state=failed,backed_out&plan=shop"} {
		a := fetchPage(t, c, "GET", s.url+path, nil, "")
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s\n%s", path, a.status, a.header.Get("Content-Type"), a.body)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if strings.Contains(a.body, `method="post"`) || !strings.Contains(a.body, "read-only server") {
			t.Errorf("GET %s: a read-only page with a form that writes, or without the read-only badge", path)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "\x1b", "\x07"} {
			if strings.Contains(a.body, bad) {
				t.Errorf("GET %s: %q reached the page", path, bad)
			}
		}
		if !strings.Contains(a.body, id) {
			t.Errorf("GET %s: the run %s is not shown", path, id)
		}
	}
	a := fetchPage(t, c, "GET", s.url+"/runs/"+id, nil, "")
	if !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(a.body, "exit 4") {
		t.Errorf("the failure's output is not shown escaped:\n%s", a.body)
	}
	a = fetchPage(t, c, "POST", s.url+"/runs/"+id+"/backout", url.Values{"confirm": {"yes"}}, s.url)
	if a.status != 403 || !strings.Contains(a.body, "read_only") {
		t.Errorf("a backout posted to a read-only server: %d\n%s", a.status, a.body)
	}
	for path, ctype := range map[string]string{"/ui/app.js": "javascript", "/ui/style.css": "text/css"} {
		a := fetchPage(t, c, "GET", s.url+path, nil, "")
		if a.status != 200 || !strings.Contains(a.header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s", path, a.status, a.header.Get("Content-Type"))
		}
	}
	if a := fetchPage(t, c, "GET", s.url+"/ui/layout.html", nil, ""); a.status != 404 {
		t.Errorf("a template is served: %d", a.status)
	}
	if a := fetchPage(t, c, "GET", s.url+"/runs/r-nope", nil, ""); a.status != 404 {
		t.Errorf("an unknown run: %d", a.status)
	}
}

// TestUISignInAndForms: pages need a session; the sign-in form takes a
// token once and goes back only within the server; a form without the
// page's CSRF token (or same origin) changes nothing; sign-out ends the
// session.
func TestUISignInAndForms(t *testing.T) {
	e := newEnv(t, map[string]string{"gated": gatedPlan})
	s := e.serve("--tokens", e.tokens, e.dir)
	id := s.must(201, "POST", "/api/v1/runs", "alice", map[string]any{"plan": "gated", "release": "1.0", "ticket": "CHG-1"}).str("id")
	jar, _ := cookiejar.New(nil)
	c := noRedirects(jar)

	a := fetchPage(t, c, "GET", s.url+"/runs/"+id, nil, "")
	if a.status != 303 || a.location != "/signin?next=%2Fruns%2F"+id {
		t.Fatalf("a page without a session: %d %q", a.status, a.location)
	}
	a = fetchPage(t, c, "POST", s.url+"/signin", url.Values{"token": {"not-a-token"}}, "")
	if a.status != 401 || !strings.Contains(a.body, "unknown token") {
		t.Errorf("a wrong token: %d", a.status)
	}
	a = fetchPage(t, c, "POST", s.url+"/signin", url.Values{"token": {secret("bob")}}, "https://evil.example")
	if a.status != 403 {
		t.Errorf("a sign-in posted from another site: %d", a.status)
	}
	a = fetchPage(t, c, "POST", s.url+"/signin", url.Values{"token": {secret("bob")}, "next": {"//evil.example/x"}}, "")
	if a.status != 303 || a.location != "/" {
		t.Errorf("sign-in's next outside the server: %d %q", a.status, a.location)
	}
	if strings.Contains(s.stderr.String(), secret("bob")) {
		t.Error("the token is in the server's log")
	}
	page := fetchPage(t, c, "GET", s.url+"/runs/"+id, nil, "")
	if page.status != 200 || !strings.Contains(page.body, `id="approve"`) || strings.Contains(page.body, `id="abort"`) {
		t.Fatalf("bob (approver) on the waiting run: want Approve, not Abort:\n%s", page.body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if csrf == nil {
		t.Fatal("no CSRF token in the page")
	}
	// Without the CSRF token and from no origin: refused, nothing recorded.
	a = fetchPage(t, c, "POST", s.url+"/runs/"+id+"/approve", url.Values{"comment": {"forged"}}, "")
	if a.status != 403 || !strings.Contains(a.body, "csrf") {
		t.Errorf("a forged approval: %d\n%s", a.status, a.body)
	}
	if got := s.must(200, "GET", "/api/v1/runs/"+id, "vera", nil); strings.Contains(got.Raw, "forged") {
		t.Fatal("the forged approval was recorded")
	}
	// With it (no JavaScript: a plain form post) the approval is made and
	// the browser goes back to the run.
	a = fetchPage(t, c, "POST", s.url+"/runs/"+id+"/approve", url.Values{"comment": {"fine"}, "csrf": {csrf[1]}}, "")
	if a.status != 303 || a.location != "/runs/"+id {
		t.Fatalf("the approval form: %d %q\n%s", a.status, a.location, a.body)
	}
	s.waitState(id, "succeeded")
	// bob may not release: no Release form, and a posted review is refused.
	page = fetchPage(t, c, "GET", s.url+"/plans/gated", nil, "")
	if page.status != 200 || strings.Contains(page.body, `id="review"`) {
		t.Errorf("an approver is offered the Release form:\n%s", page.body)
	}
	if a = fetchPage(t, c, "POST", s.url+"/plans/gated/review", url.Values{"release": {"2.0"}, "csrf": {csrf[1]}}, ""); a.status != 403 || !strings.Contains(a.body, "lacks the role") {
		t.Errorf("an approver's review: %d\n%s", a.status, a.body)
	}
	// Sign out: the session no longer reads.
	a = fetchPage(t, c, "POST", s.url+"/signout", url.Values{"csrf": {csrf[1]}}, "")
	if a.status != 303 || a.location != "/signin" {
		t.Errorf("sign-out: %d %q", a.status, a.location)
	}
	if a = fetchPage(t, c, "GET", s.url+"/", nil, ""); a.status != 303 {
		t.Errorf("a page after sign-out: %d", a.status)
	}
}

// TestUIReviewNoGo: the Release form's review of a no-go (a ticket the
// plan requires is missing) shows its ✘ lines and reasons and no Start
// button; with the ticket it is a go with Start, and nothing was run.
func TestUIReviewNoGo(t *testing.T) {
	e := newEnv(t, map[string]string{"gated": gatedPlan})
	s := e.serve("--tokens", e.tokens, e.dir)
	jar, _ := cookiejar.New(nil)
	c := noRedirects(jar)
	if a := fetchPage(t, c, "POST", s.url+"/signin", url.Values{"token": {secret("dan")}}, ""); a.status != 303 {
		t.Fatalf("sign-in: %d", a.status)
	}
	page := fetchPage(t, c, "GET", s.url+"/plans/gated", nil, "")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if page.status != 200 || csrf == nil || !strings.Contains(page.body, `id="review"`) {
		t.Fatalf("the plan page of a deployer:\n%s", page.body)
	}
	a := fetchPage(t, c, "POST", s.url+"/plans/gated/review", url.Values{"release": {"1.0"}, "csrf": {csrf[1]}}, "")
	if a.status != 200 || !strings.Contains(a.body, "no-go") || !strings.Contains(a.body, "✘") || strings.Contains(a.body, `id="start"`) {
		t.Errorf("a no-go review: %d\n%s", a.status, a.body)
	}
	a = fetchPage(t, c, "POST", s.url+"/plans/gated/review", url.Values{"release": {"1.0"}, "ticket": {"CHG-9"}, "csrf": {csrf[1]}}, "")
	if a.status != 200 || !strings.Contains(a.body, `id="start"`) || !strings.Contains(a.body, `value="CHG-9"`) {
		t.Errorf("a review that may go on: %d\n%s", a.status, a.body)
	}
	a = fetchPage(t, c, "POST", s.url+"/plans/gated/review", url.Values{"release": {"1.0; rm -rf /"}, "csrf": {csrf[1]}}, "")
	if a.status != 200 || !strings.Contains(a.body, "release") || strings.Contains(a.body, `id="start"`) {
		t.Errorf("a bad release: %d\n%s", a.status, a.body)
	}
	if runs := s.must(200, "GET", "/api/v1/runs", "vera", nil); strings.Contains(runs.Raw, `"id"`) {
		t.Errorf("a review made a run: %s", runs.Raw)
	}
}
