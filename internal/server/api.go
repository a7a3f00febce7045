package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

// route is one route of the API: a net/http pattern and its handler.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routeTable is the API of the contract (docs/server.md); openapi.json
// documents each route (a test holds them equal).
func (s *Server) routeTable() []route {
	return []route{
		{"GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		{"GET /metrics", s.metricsHandler()},
		{"GET /api/v1/openapi.json", serveOpenAPI},
		{"POST /api/v1/session", s.signIn},
		{"DELETE /api/v1/session", s.signOut},
		{"GET /api/v1/session", s.authed(permRead, s.whoAmI)},
		{"GET /api/v1/plans", s.authed(permRead, s.getPlans)},
		{"GET /api/v1/plans/{plan}/preview", s.authed(permRead, s.preview)},
		{"POST /api/v1/plans/{plan}/review", s.authed(permDeploy, s.review)},
		{"POST /api/v1/runs", s.authed(permDeploy, s.startRun)},
		{"GET /api/v1/runs", s.authed(permRead, s.getRuns)},
		{"GET /api/v1/runs/{id}", s.authed(permRead, s.getRun)},
		{"GET /api/v1/runs/{id}/events", s.authed(permRead, s.runEvents)},
		{"GET /api/v1/runs/{id}/report", s.authed(permRead, s.report)},
		{"GET /api/v1/events", s.authed(permRead, s.allEvents)},
		{"POST /api/v1/runs/{id}/approve", s.authed(permApprove, s.decide("approve"))},
		{"POST /api/v1/runs/{id}/reject", s.authed(permApprove, s.decide("reject"))},
		{"POST /api/v1/runs/{id}/confirm", s.authed(permApprove, s.decide("confirm"))},
		{"POST /api/v1/runs/{id}/abort", s.authed(permDeploy, s.abort)},
		{"POST /api/v1/runs/{id}/resume", s.authed(permDeploy, s.resume)},
		{"POST /api/v1/runs/{id}/backout", s.authed(permDeploy, s.backout)},
		{"POST /api/v1/hooks/{plan}", s.webhook},
		{"GET /api/v1/audit", s.authed(permRead, s.getAudit)},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
	s.uiRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, errf(http.StatusNotFound, codeNotFound, "no such route: "+r.Method+" "+jsonQuote(r.URL.Path)))
	})
	return mux
}

// decodeBody reads a JSON body of at most 1 MiB into v; unknown fields
// are refused. An empty body is an empty object.
func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "reading the body: "+err.Error())
	}
	if len(data) > 1<<20 {
		return errf(http.StatusRequestEntityTooLarge, codeBadRequest, "the body is larger than 1 MiB")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "the body is not the JSON object this route takes: "+err.Error())
	}
	return nil
}

func invalid(err error) *apiError {
	return errf(http.StatusUnprocessableEntity, codeInvalid, err.Error())
}

func (s *Server) getPlans(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	out := []map[string]any{}
	for _, p := range s.Plans() {
		if c.token != nil && !c.token.onPlan(p.Name) {
			continue
		}
		m := map[string]any{"name": p.Name, "file": p.File, "environments": nonNilStrings(p.Envs)}
		if h, err := load.Hash(p.File); err == nil {
			m["hash"] = h
		}
		m["live"] = s.live(r.Context(), p)
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": out})
	return nil
}

// live is the release live per host of each environment of p.
func (s *Server) live(ctx context.Context, p *Plan) map[string]map[string]string {
	out := map[string]map[string]string{}
	st, err := s.svc.OpenStore(ctx, p.File, release.StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return out
	}
	defer st.Close()
	envs := p.Envs
	if len(envs) == 0 {
		envs = []string{""}
	}
	for _, env := range envs {
		live, err := st.Live(ctx, p.Name, env)
		if err != nil || len(live) == 0 {
			continue
		}
		hosts := map[string]string{}
		for h, l := range live {
			hosts[h] = l.Release
		}
		out[env] = hosts
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// releaseInput is the body of a review or a new run.
type releaseInput struct {
	Plan    string            `json:"plan"`
	Release string            `json:"release"`
	Env     string            `json:"env"`
	Ticket  string            `json:"ticket"`
	Set     map[string]string `json:"set"`
	// Break-glass (POST /api/v1/runs only): the reason to release
	// outside the window, under controls.override; and redeploying the
	// live release.
	OverrideWindow string `json:"override_window"`
	Force          bool   `json:"force"`
}

// check validates every value as the CLI's are (internal/values), the
// environment against the plan's; the set values are checked against
// the plan's settable rules when it is loaded.
func (in *releaseInput) check(p *Plan) (release.PlanInput, error) {
	var errs []error
	if in.Release == "" {
		errs = append(errs, errors.New("release: no version given"))
	} else if err := values.Version("release", in.Release); err != nil {
		errs = append(errs, err)
	}
	if in.Ticket != "" {
		errs = append(errs, values.Ticket("ticket", in.Ticket))
	}
	errs = append(errs, checkEnv(p, in.Env))
	var set []string
	for k, v := range in.Set {
		if err := values.NoControl("set name", k); err != nil || k == "" || strings.Contains(k, "=") {
			errs = append(errs, fmt.Errorf("set: name %s: want a var name", values.Quote(k)))
			continue
		}
		errs = append(errs, values.Text("set "+k, v, values.MaxOverride))
		set = append(set, k+"="+v)
	}
	sort.Strings(set)
	if err := errors.Join(errs...); err != nil {
		return release.PlanInput{}, invalid(err)
	}
	return release.PlanInput{File: p.File, Env: in.Env, Set: set, SetFrom: plan.FromNetwork}, nil
}

func checkEnv(p *Plan, env string) error {
	switch {
	case len(p.Envs) == 0 && env == "":
		return nil
	case len(p.Envs) == 0:
		return fmt.Errorf("env: plan %s has no environments: give none", p.Name)
	case env == "":
		return fmt.Errorf("env: plan %s has environments: give one of %s", p.Name, strings.Join(p.Envs, ", "))
	case !slices.Contains(p.Envs, env):
		if err := values.Name("env", env); err != nil {
			return err
		}
		return fmt.Errorf("env: plan %s has no environment %s (it has %s)", p.Name, values.Quote(env), strings.Join(p.Envs, ", "))
	}
	return nil
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) error {
	p, err := s.mayPlan(r, r.PathValue("plan"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	in := releaseInput{Release: q.Get("release"), Env: q.Get("env")}
	pin, err := in.check(p)
	if err != nil {
		return err
	}
	res, err := load.Load(load.Options{File: pin.File, Env: pin.Env})
	if err != nil {
		return invalid(err)
	}
	if res.Diags.HasErrors() || res.Plan == nil {
		return invalid(res.Diags.Errors())
	}
	previous := ""
	if st, err := s.svc.OpenStore(r.Context(), p.File, release.StoreMode{Existing: true, ReadOnly: true}); err == nil {
		previous, _ = st.PreviousRelease(r.Context(), res.Plan.Name, res.Plan.Env)
		st.Close()
	}
	secrets, red, err := s.secrets()
	if err != nil {
		return err
	}
	rin := rollout.Input{Plan: res.Plan, Release: in.Release, Previous: previous, Env: s.svc.Environ, Secrets: secrets}
	if _, err := rollout.Build(rin); err != nil {
		return invalid(errors.New(red.String(err.Error())))
	}
	ro, err := rollout.Build(rin.ForDisplay()) // every secret shown as ***
	if err != nil {
		return invalid(errors.New(red.String(err.Error())))
	}
	data, err := json.Marshal(ro)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, red.String(string(data))+"\n")
	return nil
}

func (s *Server) review(w http.ResponseWriter, r *http.Request) error {
	p, err := s.mayPlan(r, r.PathValue("plan"))
	if err != nil {
		return err
	}
	var in releaseInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if in.Plan != "" && in.Plan != p.Name {
		return invalid(fmt.Errorf("plan: the body names %s, the path %s", values.Quote(in.Plan), p.Name))
	}
	pin, err := in.check(p)
	if err != nil {
		return err
	}
	rep, err := s.svc.Review(r.Context(), release.ReviewOptions{Plan: pin, Release: in.Release, Ticket: in.Ticket, By: callerOf(r).identity()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) error {
	var in releaseInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if in.Plan == "" {
		return invalid(errors.New("plan: no plan given"))
	}
	p, err := s.mayPlan(r, in.Plan)
	if err != nil {
		return err
	}
	pin, err := in.check(p)
	if err != nil {
		return err
	}
	run, err := s.start(r.Context(), p, pin, startOpts{release: in.Release, ticket: in.Ticket, override: in.OverrideWindow, force: in.Force}, callerOf(r).identity())
	if err != nil {
		return err
	}
	s.audit(r, p.File, run.ID, "created the run")
	writeJSON(w, http.StatusCreated, runJSON(run))
	return nil
}

// start reviews and starts a run in the background and returns it once
// it is created (running or waiting), or the error that kept it from
// being created (no-go, locked, invalid).
// startOpts are what a caller asks of a new run besides its plan.
type startOpts struct {
	release, ticket, override string
	force                     bool
}

func (s *Server) start(ctx context.Context, p *Plan, pin release.PlanInput, o startOpts, by store.Identity) (store.Run, error) {
	created := make(chan store.Run, 1)
	done := make(chan error, 1)
	ok := s.runs.spawn("start", func(ctx context.Context) {
		var id string
		var rep *review.Report
		_, err := s.svc.Start(ctx, release.StartOptions{Plan: pin, Release: o.release, Ticket: o.ticket, By: by,
			OverrideWindow: o.override, Force: o.force,
			Watch: release.Watch{Reviewed: func(r *review.Report) { rep = r }, Created: func(run store.Run) {
				id = run.ID
				s.uiReviews.put(run.ID, rep) // for the run's page
				s.runs.track(run.ID, p, run.Env, run.State)
				created <- run
			}}})
		if id != "" {
			s.runs.untrack(id)
		}
		done <- err
	})
	if !ok {
		return store.Run{}, errf(http.StatusServiceUnavailable, codeStopping, "the server is stopping")
	}
	select {
	case run := <-created:
		return s.settled(ctx, p, run), nil
	case err := <-done:
		if err == nil {
			err = errors.New("the run ended before it was created")
		}
		return store.Run{}, err
	}
}

// audit journals a write on run id: who (the token's name) from where.
func (s *Server) audit(r *http.Request, file, id, what string) {
	c := callerOf(r)
	s.auditAs(r, file, id, what, c.token.Name, c.remote)
}

// auditAs journals a write on run id by name (an identity) from remote.
func (s *Server) auditAs(r *http.Request, file, id, what, name, remote string) {
	ctx := context.WithoutCancel(r.Context())
	st, err := s.svc.OpenStore(ctx, file, release.StoreMode{Existing: true})
	if err != nil {
		s.log.Error("audit: cannot open the store", "run", id, "err", err)
		return
	}
	defer st.Close()
	ev := store.Event{RunID: id, Kind: store.KindRun, Action: "api_request",
		Message: fmt.Sprintf("%s %s: %s, from %s", r.Method, r.URL.Path, what, remote),
		Actor:   name, ActorVia: store.ViaAPI, ActorToken: name}
	if _, err := st.AppendEvent(ctx, ev); err != nil {
		s.log.Error("audit: cannot journal the request", "run", id, "err", err)
	}
}

// runQuery filters the runs listed.
type runQuery struct {
	plan, env string
	states    []store.State
	limit     int
	token     *Token
}

func (s *Server) getRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rq := runQuery{plan: q.Get("plan"), env: q.Get("env"), limit: 50, token: callerOf(r).token}
	if rq.plan != "" {
		if _, err := s.mayPlan(r, rq.plan); err != nil {
			return err
		}
	}
	if rq.env != "" {
		if err := values.Name("env", rq.env); err != nil {
			return invalid(err)
		}
	}
	for _, st := range strings.Split(q.Get("state"), ",") {
		if st == "" {
			continue
		}
		if !knownState(store.State(st)) {
			return invalid(fmt.Errorf("state: %s is not a run state", values.Quote(st)))
		}
		rq.states = append(rq.states, store.State(st))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return invalid(fmt.Errorf("limit: %s: want 1 to 1000", values.Quote(l)))
		}
		rq.limit = n
	}
	runs, err := s.listRuns(r.Context(), rq)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, run := range runs {
		out = append(out, runJSON(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
	return nil
}

func knownState(st store.State) bool {
	switch st {
	case store.StatePending, store.StateWaiting, store.StateRunning, store.StatePaused, store.StateVerifying, store.StateSucceeded,
		store.StateFailed, store.StateBackingOut, store.StateBackedOut, store.StateBackoutFailed, store.StateAborted:
		return true
	}
	return false
}

// listRuns lists the runs of the plans the query (and its token) may
// see, newest first.
func (s *Server) listRuns(ctx context.Context, q runQuery) ([]store.Run, error) {
	var all []store.Run
	for _, p := range s.Plans() {
		if (q.plan != "" && p.Name != q.plan) || (q.token != nil && !q.token.onPlan(p.Name)) {
			continue
		}
		if q.env != "" && !slices.Contains(p.Envs, q.env) {
			continue
		}
		runs, err := s.svc.Runs(ctx, release.RunsOptions{Plan: release.PlanInput{File: p.File, Env: q.env}, States: q.states, Limit: q.limit, Name: p.Name})
		if err != nil {
			continue // no store yet: no runs
		}
		for _, r := range runs {
			if r.Plan == p.Name {
				all = append(all, r)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
	if q.limit > 0 && len(all) > q.limit {
		all = all[:q.limit]
	}
	return all, nil
}

// findRun finds run id among the stores of the plans the caller may see.
func (s *Server) findRun(r *http.Request, id string) (store.Run, *Plan, error) {
	if err := values.NoControl("run", id); err != nil || id == "" || len(id) > 200 {
		return store.Run{}, nil, errf(http.StatusNotFound, codeNotFound, "no such run")
	}
	tok := callerOf(r).token
	for _, p := range s.Plans() {
		run, err := s.svc.Run(r.Context(), release.RunRef{Plan: release.PlanInput{File: p.File}, ID: id})
		if err != nil || run.Plan != p.Name {
			continue
		}
		if tok != nil && !tok.onPlan(p.Name) {
			return store.Run{}, nil, errf(http.StatusForbidden, codeForbidden, "token "+tok.Name+" is not for plan "+p.Name)
		}
		return run, p, nil
	}
	return store.Run{}, nil, errf(http.StatusNotFound, codeNotFound, "no run "+jsonQuote(id))
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := s.statuses.answer(run, func() ([]byte, error) {
		sts, err := s.svc.Status(r.Context(), release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID})
		if err != nil {
			return nil, err
		}
		return encodeJSON(statusJSON(sts)), nil
	})
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, body)
	return nil
}

// settled is run once it is past pending (running or waiting), or as it
// is after a few seconds.
func (s *Server) settled(ctx context.Context, p *Plan, run store.Run) store.Run {
	for deadline := time.Now().Add(5 * time.Second); run.State == store.StatePending && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		cur, err := s.svc.Run(ctx, release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID})
		if err != nil {
			break
		}
		run = cur
	}
	return run
}
