package server

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/termsafe"
)

// The web UI (docs/server.md, "Web UI"): pages rendered here with
// html/template from the files embedded under web/, a style sheet and one
// small script that only adds live updates (it listens to the API's
// server-sent events and swaps in the regions of a freshly fetched page).
// Every page reads without JavaScript, and every action is a real form
// posted to a page route that calls the API's own handler, so the API's
// roles, CSRF check, value rules and journaled audit apply unchanged.

//go:embed web
var webFS embed.FS

// uiCSP lets the pages load scripts and styles from the server only: no
// inline script, no inline style, nothing from elsewhere.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var uiFuncs = template.FuncMap{
	"mark": mark,
	"cls":  stateClass,
	"gate": gateTitle,
	"pathEscape": func(s string) string {
		return url.PathEscape(s)
	},
}

var (
	uiOnce  sync.Once
	uiPages map[string]*template.Template
)

// templates are the pages, each the layout with its own "main".
func templates() map[string]*template.Template {
	uiOnce.Do(func() {
		uiPages = map[string]*template.Template{}
		for _, name := range []string{"runs", "plan", "run", "log", "signin", "error"} {
			uiPages[name] = template.Must(template.New(name).Funcs(uiFuncs).ParseFS(webFS, "web/layout.html", "web/"+name+".html"))
		}
	})
	return uiPages
}

// page is what every page's layout shows: who is signed in, the plans,
// the actions the caller may take.
type page struct {
	Title      string
	Who        string
	ReadOnly   bool // the server has no --tokens
	SignedIn   bool
	CSRF       string
	Plans      []string
	Live       string // the SSE stream whose events refresh the page ("" none)
	CanDeploy  bool   // on the page's plan
	CanApprove bool
	Body       any
}

// uiRoutes adds the pages to mux.
func (s *Server) uiRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(webFS, "web")
	mux.HandleFunc("GET /ui/{file}", func(w http.ResponseWriter, r *http.Request) {
		f := r.PathValue("file")
		if f != "app.js" && f != "style.css" {
			http.NotFound(w, r)
			return
		}
		uiHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, f)
	})
	mux.HandleFunc("GET /{$}", s.page(s.runsPage))
	mux.HandleFunc("GET /plans/{plan}", s.page(s.planPage))
	mux.HandleFunc("POST /plans/{plan}/review", s.page(s.planReview))
	mux.HandleFunc("POST /plans/{plan}/start", s.page(s.planStart))
	mux.HandleFunc("GET /runs/{id}", s.page(s.runPage))
	mux.HandleFunc("GET /runs/{id}/log", s.page(s.logPage))
	mux.HandleFunc("GET /runs/{id}/report", s.page(s.reportPage))
	mux.HandleFunc("POST /runs/{id}/{action}", s.page(s.runAction))
	mux.HandleFunc("GET /signin", s.signInPage)
	mux.HandleFunc("POST /signin", s.signInForm)
	mux.HandleFunc("POST /signout", s.signOutForm)
}

func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// pageFunc renders a page into pg (its Body and Title) or returns an
// error shown on the error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, pg *page) (string, error)

// page wraps a page: it authenticates the caller (a browser without a
// session is sent to the sign-in page), fills the layout's values and
// renders the template the page names ("" when it answered itself).
func (s *Server) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		c := &caller{remote: r.RemoteAddr}
		if err := s.authenticate(r, c, permRead); err != nil {
			if err.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, http.StatusOK, "error", &page{Title: "Error", ReadOnly: s.cfg.Tokens == nil, Body: uiErr(err)})
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
		pg := s.pageFor(r, c)
		name, err := h(w, r, pg)
		if err != nil {
			pg.Title, pg.Body, pg.Live = "Error", uiErr(err), ""
			s.render(w, 0, "error", pg)
			return
		}
		if name != "" {
			s.render(w, http.StatusOK, name, pg)
		}
	}
}

func (s *Server) pageFor(r *http.Request, c *caller) *page {
	pg := &page{ReadOnly: s.cfg.Tokens == nil}
	if c.token != nil {
		pg.SignedIn, pg.Who = true, c.token.Name
		if ck, err := r.Cookie(sessionCookie); err == nil {
			if sess := s.sessions.get(ck.Value); sess != nil {
				pg.CSRF = sess.csrf
			}
		}
	}
	for _, p := range s.Plans() {
		if c.token == nil || c.token.onPlan(p.Name) {
			pg.Plans = append(pg.Plans, p.Name)
		}
	}
	return pg
}

// allowed sets what the caller may do on plan.
func (pg *page) allowed(c *caller, plan string) {
	if c.token == nil || !c.token.onPlan(plan) {
		return // read-only server, or a plan the token may not see
	}
	pg.CanDeploy, pg.CanApprove = c.token.may(permDeploy), c.token.may(permApprove)
}

// uiError is an error as the error page shows it.
type uiError struct {
	Status      int
	Code, Error string
}

func uiErr(err error) *uiError {
	ae := fromCore(err)
	return &uiError{Status: ae.Status, Code: ae.Code, Error: ae.Msg}
}

// render executes page name into a buffer first, so a failing template
// never leaves half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, pg *page) {
	if e, ok := pg.Body.(*uiError); ok && status == 0 {
		status = e.Status
	}
	if status == 0 {
		status = http.StatusOK
	}
	var b strings.Builder
	if err := renderPage(&b, name, pg); err != nil {
		s.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal error (see the server's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, b.String())
}

// renderPage writes page name: html/template escapes every value for its
// context, and termsafe then writes every control character (ESC, C1,
// bidirectional overrides) as a visible escape, so a page read with curl
// cannot drive a terminal either.
func renderPage(w io.Writer, name string, pg *page) error {
	var b strings.Builder
	if err := templates()[name].ExecuteTemplate(&b, "layout", pg); err != nil {
		return err
	}
	_, err := io.WriteString(w, termsafe.String(b.String()))
	return err
}

// capture is an http.ResponseWriter that keeps the answer of an API
// handler called for a page's form.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

// callAPI calls an API handler for a page's form: body as the JSON body,
// the form's csrf field as X-CSRF-Token, apiPath as the path the audit
// records. The API decides everything (roles, CSRF, values, state).
func (s *Server) callAPI(r *http.Request, h http.HandlerFunc, apiPath string, vals map[string]string, body any) (int, []byte) {
	data, _ := json.Marshal(body)
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(data))
	r2.ContentLength = int64(len(data))
	r2.Header.Set("Content-Type", "application/json")
	r2.Header.Set("X-CSRF-Token", r.PostFormValue("csrf"))
	r2.URL = &url.URL{Path: apiPath}
	for k, v := range vals {
		r2.SetPathValue(k, v)
	}
	c := &capture{header: http.Header{}}
	h(c, r2)
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.status, c.body.Bytes()
}

// apiErrorOf reads an API error answer.
func apiErrorOf(status int, body []byte) *apiError {
	var ae apiError
	if json.Unmarshal(body, &ae) != nil || ae.Msg == "" {
		ae.Msg = "the request failed"
	}
	ae.Status = status
	return &ae
}

// runsPage is "/": the runs, newest first, filtered by plan, env and
// state.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	q := r.URL.Query()
	rq := runQuery{plan: q.Get("plan"), env: q.Get("env"), limit: 100, token: callerOf(r).token}
	if rq.plan != "" {
		if _, err := s.mayPlan(r, rq.plan); err != nil {
			return "", err
		}
	}
	if st := q.Get("state"); st != "" {
		for _, one := range strings.Split(st, ",") {
			if !knownState(storeState(one)) {
				return "", errf(http.StatusUnprocessableEntity, codeInvalid, "state: "+jsonQuote(one)+" is not a run state")
			}
			rq.states = append(rq.states, storeState(one))
		}
	}
	var envs []string
	for _, p := range s.Plans() {
		for _, e := range p.Envs {
			if !slices.Contains(envs, e) {
				envs = append(envs, e)
			}
		}
	}
	sort.Strings(envs)
	if rq.env != "" && !slices.Contains(envs, rq.env) {
		return "", errf(http.StatusUnprocessableEntity, codeInvalid, "env: no plan has the environment "+jsonQuote(rq.env))
	}
	runs, err := s.listRuns(r.Context(), rq)
	if err != nil {
		return "", err
	}
	now := time.Now()
	rows := make([]runRow, 0, len(runs))
	for _, run := range runs {
		rows = append(rows, rowOf(run, now))
	}
	pg.Title, pg.Live = "Runs", "/api/v1/events"
	pg.Body = map[string]any{"Runs": rows, "Plan": rq.plan, "Env": rq.env, "State": q.Get("state"), "Envs": envs, "States": allStates}
	return "runs", nil
}

// reviews keeps the review report of the runs this server started, for
// their pages (kept in memory: a restart forgets them; `golive report`
// has the run's record).
type reviews struct {
	mu    sync.Mutex
	m     map[string]*review.Report
	order []string
}

const reviewsKept = 500

func (rv *reviews) put(id string, rep *review.Report) {
	if rep == nil {
		return
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.m == nil {
		rv.m = map[string]*review.Report{}
	}
	if _, ok := rv.m[id]; !ok {
		rv.order = append(rv.order, id)
	}
	rv.m[id] = rep
	for len(rv.order) > reviewsKept {
		delete(rv.m, rv.order[0])
		rv.order = rv.order[1:]
	}
}

func (rv *reviews) get(id string) *review.Report {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.m[id]
}
