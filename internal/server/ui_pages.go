package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

func storeState(s string) store.State { return store.State(s) }

// allStates are the run states, for the runs list's filter.
var allStates = []string{"pending", "waiting", "running", "paused", "verifying", "succeeded", "failed",
	"backing_out", "backed_out", "backout_failed", "aborted"}

// envLive is an environment of a plan and its live release per host.
type envLive struct {
	Name  string
	Hosts []hostLive
}

type hostLive struct{ Host, Release string }

// releaseForm is what the Release form was given, and the review of it.
type releaseForm struct {
	Release, Env, Ticket string
	Review               *review.Report
	Error                string
}

// planPage is /plans/{plan}: the live release per host of each
// environment, the recent runs and the Release form.
func (s *Server) planPage(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	return s.planView(r, pg, releaseForm{})
}

func (s *Server) planView(r *http.Request, pg *page, form releaseForm) (string, error) {
	p, err := s.mayPlan(r, r.PathValue("plan"))
	if err != nil {
		return "", err
	}
	c := callerOf(r)
	pg.allowed(c, p.Name)
	live := s.live(r.Context(), p)
	envNames := p.Envs
	if len(envNames) == 0 {
		envNames = []string{""}
	}
	var envs []envLive
	for _, e := range envNames {
		el := envLive{Name: e}
		for h, rel := range live[e] {
			el.Hosts = append(el.Hosts, hostLive{Host: h, Release: rel})
		}
		sortHosts(el.Hosts)
		envs = append(envs, el)
	}
	runs, _ := s.listRuns(r.Context(), runQuery{plan: p.Name, limit: 10, token: c.token})
	now := time.Now()
	var rows []runRow
	for _, run := range runs {
		rows = append(rows, rowOf(run, now))
	}
	if form.Env == "" && len(p.Envs) > 0 {
		form.Env = p.Envs[0]
	}
	pg.Title, pg.Live = "Plan "+p.Name, "/api/v1/events"
	pg.Body = map[string]any{"Plan": p, "Envs": envs, "Runs": rows, "Form": form}
	return "plan", nil
}

func sortHosts(hs []hostLive) {
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && hs[j].Host < hs[j-1].Host; j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}

// formLimit bounds a form's body.
const formLimit = 64 << 10

func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "the form could not be read: "+err.Error())
	}
	return nil
}

func formOf(r *http.Request) releaseForm {
	return releaseForm{Release: strings.TrimSpace(r.PostFormValue("release")), Env: r.PostFormValue("env"), Ticket: strings.TrimSpace(r.PostFormValue("ticket"))}
}

// planReview is the Release form's first step: the review, shown with
// its ✔/✘ lines before the Start button.
func (s *Server) planReview(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	if err := parseForm(w, r); err != nil {
		return "", err
	}
	form := formOf(r)
	plan := r.PathValue("plan")
	status, body := s.callAPI(r, s.authed(permDeploy, s.review), "/api/v1/plans/"+plan+"/review", map[string]string{"plan": plan},
		map[string]any{"release": form.Release, "env": form.Env, "ticket": form.Ticket})
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound {
		return "", apiErrorOf(status, body) // not theirs to release: the error page says why
	}
	if status != http.StatusOK {
		form.Error = apiErrorOf(status, body).Msg
	} else {
		var rep review.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			return "", err
		}
		form.Review = &rep
	}
	return s.planView(r, pg, form)
}

// planStart is the Start button: the run is created (the server reviews
// again) and the browser goes to its page.
func (s *Server) planStart(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	if err := parseForm(w, r); err != nil {
		return "", err
	}
	form := formOf(r)
	status, body := s.callAPI(r, s.authed(permDeploy, s.startRun), "/api/v1/runs", nil,
		map[string]any{"plan": r.PathValue("plan"), "release": form.Release, "env": form.Env, "ticket": form.Ticket})
	if status == http.StatusCreated {
		var run struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &run) == nil && run.ID != "" {
			http.Redirect(w, r, "/runs/"+url.PathEscape(run.ID), http.StatusSeeOther)
			return "", nil
		}
	}
	ae := apiErrorOf(status, body)
	if status == http.StatusUnauthorized || status == http.StatusForbidden && ae.Code != codeRefused || status == http.StatusNotFound {
		return "", ae
	}
	form.Error = ae.Msg
	if ae.Code == codeNoGo {
		var withReport struct {
			Report *review.Report `json:"report"`
		}
		if json.Unmarshal(body, &withReport) == nil {
			form.Review = withReport.Report
		}
	}
	return s.planView(r, pg, form)
}

// rollouts keeps the rollout of recent runs' pages: a run's hosts and
// steps do not change while it runs, and building them again for every
// live refresh of a large run would be wasted.
type rollouts struct {
	mu    sync.Mutex
	m     map[string]*runPlan
	order []string
}

// runPlan is a run's plan and rollout as they build now (nil when they
// do not).
type runPlan struct {
	plan *plan.Plan
	ro   *rollout.Rollout
}

func (rc *rollouts) get(id string, build func() *runPlan) *runPlan {
	rc.mu.Lock()
	ro, ok := rc.m[id]
	rc.mu.Unlock()
	if ok {
		return ro
	}
	ro = build()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil {
		rc.m = map[string]*runPlan{}
	}
	if _, ok := rc.m[id]; !ok {
		rc.order = append(rc.order, id)
	}
	rc.m[id] = ro
	for len(rc.order) > 50 {
		delete(rc.m, rc.order[0])
		rc.order = rc.order[1:]
	}
	return ro
}

// runRollout is run's plan and rollout as the plan builds now: the
// hosts and steps not reached yet, and who may approve.
func (s *Server) runRollout(p *Plan, run store.Run) *runPlan {
	return s.uiRollouts.get(run.ID, func() *runPlan {
		out := &runPlan{}
		res, err := load.Load(load.Options{File: p.File, Env: run.Env})
		if err != nil || res.Diags.HasErrors() || res.Plan == nil || res.Plan.Name != run.Plan {
			return out
		}
		out.plan = res.Plan
		secrets, _, err := s.secrets()
		if err != nil {
			return out
		}
		in := rollout.Input{Plan: res.Plan, Release: run.Release, Previous: run.PreviousRelease, RunID: run.ID, Env: s.svc.Environ, Secrets: secrets}
		out.ro, _ = rollout.Build(in.ForDisplay())
		return out
	})
}

// notApprover says why name's approval of gate on run would not count
// under the plan's rules ("" when it would, or the plan is not at hand):
// the buttons are offered to those whose decision counts.
func notApprover(pl *plan.Plan, run store.Run, gate, name string) string {
	if pl == nil {
		return ""
	}
	approvers, self := []string(nil), true
	if gate == release.GateOverride {
		if pl.Controls.Override != nil {
			approvers = pl.Controls.Override.Approvers
		}
		self = false
	} else {
		rules := approval.RulesFor(pl.Controls.Approvals, 0)
		approvers, self = rules.Approvers, rules.AllowSelf
	}
	switch {
	case !self && (run.Requester == name || run.RequesterToken == name):
		return "you requested this run: someone else decides (allow_self is false)"
	case len(approvers) > 0 && !slices.Contains(approvers, name):
		return "you are not among this plan's approvers (" + strings.Join(approvers, ", ") + ")"
	}
	return ""
}

// runPage is /runs/{id}.
func (s *Server) runPage(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	sts, err := s.svc.Status(r.Context(), release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID})
	if err != nil {
		return "", err
	}
	rp := s.runRollout(p, sts.Run)
	v := buildRunView(sts, rp.ro, s.uiReviews.get(run.ID), time.Now())
	pg.allowed(callerOf(r), p.Name)
	why := ""
	if pg.CanApprove && v.Open != "" {
		why = notApprover(rp.plan, sts.Run, v.Open, callerOf(r).token.Name)
	}
	pg.Title = "Run " + run.ID
	if !v.Terminal {
		pg.Live = "/api/v1/runs/" + url.PathEscape(run.ID) + "/events?after=" + itoa(v.LastSeq)
	}
	st := sts.Run.State
	pg.Body = map[string]any{"V": v, "Timeline": timelineSVG(sts.Events),
		"CanAbort":   pg.CanDeploy && !v.Terminal,
		"CanBackout": pg.CanDeploy && (st == store.StatePaused || st == store.StateSucceeded || st == store.StateFailed || st == store.StateBackoutFailed),
		"CanResume":  pg.CanDeploy && st == store.StatePaused,
		"CanDecide":  pg.CanApprove && v.Open != "" && why == "", "NotApprover": why}
	return "run", nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// logRow is one journal event on the log page.
type logRow struct {
	Seq                                         int64
	Time, Kind, Action, Stage, Host, Step, Exit string
	Message, Output, By                         string
}

// logPage is the run's full journal.
func (s *Server) logPage(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	var rows []logRow
	err = s.svc.Events(r.Context(), release.EventsOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID}},
		func(ev store.Event) error {
			row := logRow{Seq: ev.Seq, Time: ev.Time.UTC().Format("15:04:05.000"), Kind: string(ev.Kind), Action: string(ev.Action),
				Stage: ev.Stage, Host: ev.Host, Step: ev.Step, Message: ev.Message, Output: ev.Output}
			if ev.ExitCode != nil {
				row.Exit = itoa(int64(*ev.ExitCode))
			}
			if ev.Actor != "" {
				row.By = ev.ActorIdentity().String()
			}
			rows = append(rows, row)
			return nil
		})
	if err != nil {
		return "", err
	}
	pg.Title = "Journal of " + run.ID
	pg.Body = map[string]any{"Run": rowOf(run, time.Now()), "Events": rows}
	return "log", nil
}

// reportPage is the run's release report as a page (the API's HTML
// report).
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	r.Header.Set("Accept", "text/html")
	if err := s.report(w, r); err != nil {
		return "", err
	}
	return "", nil
}

// runActions are the forms of the run page, each the API route it calls
// and the form fields its JSON body takes.
var runActions = map[string]struct {
	perm   perm
	fields []string
}{
	"approve": {permApprove, []string{"comment", "gate"}},
	"reject":  {permApprove, []string{"reason", "gate"}},
	"confirm": {permApprove, []string{"comment"}},
	"abort":   {permDeploy, []string{"reason"}},
	"backout": {permDeploy, nil},
	"resume":  {permDeploy, nil},
}

// runAction is a form of the run page: it calls the API route of the
// same name and goes back to the run's page, or shows why not. Abort
// and Backout need their confirmation box ticked.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request, pg *page) (string, error) {
	what := r.PathValue("action")
	act, ok := runActions[what]
	if !ok {
		return "", errf(http.StatusNotFound, codeNotFound, "no such action")
	}
	if err := parseForm(w, r); err != nil {
		return "", err
	}
	if c := callerOf(r); c.token == nil || !c.token.may(act.perm) {
		return "", s.authenticateAs(r, act.perm) // read-only server, or a token without the role
	}
	if (what == "abort" || what == "backout") && r.PostFormValue("confirm") != "yes" {
		return "", errf(http.StatusUnprocessableEntity, codeInvalid, what+": tick the box to confirm")
	}
	if what == "abort" && strings.TrimSpace(r.PostFormValue("reason")) == "" {
		return "", errf(http.StatusUnprocessableEntity, codeInvalid, "abort: give a reason")
	}
	body := map[string]any{}
	for _, f := range act.fields {
		if v := r.PostFormValue(f); v != "" {
			body[f] = v
		}
	}
	id := r.PathValue("id")
	var h func(http.ResponseWriter, *http.Request) error
	switch what {
	case "abort":
		h = s.abort
	case "backout":
		h = s.backout
	case "resume":
		h = s.resume
	default:
		h = s.decide(what)
	}
	status, out := s.callAPI(r, s.authed(act.perm, h), "/api/v1/runs/"+id+"/"+what, map[string]string{"id": id}, body)
	if status >= 300 {
		return "", apiErrorOf(status, out)
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
	return "", nil
}

// safeNext is where the sign-in goes next: a path of this server only.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}

// signInPage is the sign-in form for a token.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	pg := &page{Title: "Sign in", ReadOnly: s.cfg.Tokens == nil, Body: map[string]any{"Next": safeNext(r.URL.Query().Get("next"))}}
	s.render(w, http.StatusOK, "signin", pg)
}

// signInForm takes the token once and gives the browser a session
// cookie (never the token).
func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	next := "/"
	fail := func(status int, msg string) {
		s.render(w, status, "signin", &page{Title: "Sign in", ReadOnly: s.cfg.Tokens == nil, Body: map[string]any{"Next": next, "Error": msg}})
	}
	if s.cfg.Tokens == nil {
		fail(http.StatusForbidden, "this server has no tokens (--tokens): there is nothing to sign in with; everything is readable without")
		return
	}
	if err := parseForm(w, r); err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	next = safeNext(r.PostFormValue("next"))
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r) {
		fail(http.StatusForbidden, "a sign-in from another site is refused")
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	t := s.cfg.Tokens.Find(secret)
	if t == nil || secret == "" {
		s.log.Warn("sign-in refused: unknown token", "remote", r.RemoteAddr)
		fail(http.StatusUnauthorized, "unknown token")
		return
	}
	if s.newSession(w, r, t) == nil {
		return // answered: the session could not be stored
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOutForm ends the session (the form's CSRF token, or a same-origin
// request) and goes to the sign-in page.
func (s *Server) signOutForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if err := parseForm(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		sess := s.sessions.get(ck.Value)
		if sess != nil && !s.sameOrigin(r) && r.PostFormValue("csrf") != sess.csrf {
			s.render(w, http.StatusForbidden, "error", &page{Title: "Error", Body: uiErr(errf(http.StatusForbidden, codeCSRF, "sign-out needs the page's CSRF token"))})
			return
		}
	}
	s.endSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// authenticateAs is the API's refusal of the caller for p.
func (s *Server) authenticateAs(r *http.Request, p perm) error {
	if err := s.authenticate(r, &caller{remote: r.RemoteAddr}, p); err != nil {
		return err
	}
	return errf(http.StatusForbidden, codeForbidden, "not allowed")
}
