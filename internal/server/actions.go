package server

import (
	"context"
	"net/http"
	"time"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

func (s *Server) secrets() (map[string]string, *redact.Redactor, error) {
	if s.svc.Secrets == nil {
		return map[string]string{}, redact.New(), nil
	}
	return s.svc.Secrets()
}

// decide records an approval, rejection or confirmation as the token's
// name. When what the run waits for is in, the server goes on with it.
func (s *Server) decide(what string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		run, p, err := s.findRun(r, r.PathValue("id"))
		if err != nil {
			return err
		}
		var body struct {
			Comment string `json:"comment"`
			Reason  string `json:"reason"`
			Gate    string `json:"gate"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		text := body.Comment
		if what == "reject" && body.Reason != "" {
			text = body.Reason
		}
		if err := values.Text("comment", text, values.MaxText); text != "" && err != nil {
			return invalid(err)
		}
		if err := values.NoControl("gate", body.Gate); err != nil {
			return invalid(err)
		}
		o := release.DecideOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID},
			By: callerOf(r).identity(), Gate: body.Gate, Comment: text}
		var d *release.Decision
		switch what {
		case "approve":
			d, err = s.svc.Approve(r.Context(), o)
		case "reject":
			d, err = s.svc.Reject(r.Context(), o)
		default:
			d, err = s.svc.Confirm(r.Context(), o)
		}
		if err != nil {
			return err
		}
		s.audit(r, p.File, run.ID, what)
		goesOn := false
		if d.CanGoOn && (d.Run.State == store.StateWaiting || d.Run.State == store.StatePaused) && !s.runs.busy(run.ID) {
			goesOn = s.continueRun(p, run.ID, run.Env, callerOf(r).identity())
		}
		writeJSON(w, http.StatusOK, decisionJSON(d, goesOn))
		return nil
	}
}

// continueRun resumes a waiting or paused run whose approvals are in, in
// the background.
func (s *Server) continueRun(p *Plan, id, env string, by store.Identity) bool {
	return s.runs.spawn("resume", func(ctx context.Context) {
		if !s.runs.track(id, p, env, "") {
			return
		}
		defer s.runs.untrack(id)
		_, err := s.svc.Resume(ctx, release.ResumeOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: id}, By: by})
		if err != nil {
			s.log.Info("run did not go on", "run", id, "err", err)
		}
	})
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Reason    string `json:"reason"`
		NoBackout bool   `json:"no_backout"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Reason != "" {
		if err := values.Text("reason", body.Reason, values.MaxText); err != nil {
			return invalid(err)
		}
	}
	if run.State.Terminal() {
		return errf(http.StatusConflict, codeConflict, "run "+run.ID+" is "+string(run.State)+": there is nothing to abort")
	}
	by := callerOf(r).identity()
	return s.launch(w, r, p, run, "abort", func(ctx context.Context) error {
		_, err := s.svc.Abort(ctx, release.AbortOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID},
			By: by, Reason: body.Reason, NoBackout: body.NoBackout,
			Watch: release.Watch{Note: func(n string) { s.log.Warn("abort of run "+run.ID+": "+n, "by", by.Name) }}})
		return err
	})
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := decodeBody(r, &struct{}{}); err != nil {
		return err
	}
	if s.runs.busy(run.ID) {
		return errf(http.StatusConflict, codeConflict, "run "+run.ID+" is being executed by this server")
	}
	if run.State.Terminal() && run.State != store.StateFailed {
		return errf(http.StatusConflict, codeConflict, "run "+run.ID+" is "+string(run.State)+": there is nothing to resume")
	}
	by := callerOf(r).identity()
	return s.launch(w, r, p, run, "resume", func(ctx context.Context) error {
		_, err := s.svc.Resume(ctx, release.ResumeOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID}, By: by})
		return err
	})
}

func (s *Server) backout(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := decodeBody(r, &struct{}{}); err != nil {
		return err
	}
	if s.runs.busy(run.ID) {
		return errf(http.StatusConflict, codeConflict, "run "+run.ID+" is being executed by this server: abort it")
	}
	by := callerOf(r).identity()
	return s.launch(w, r, p, run, "backout", func(ctx context.Context) error {
		_, err := s.svc.Backout(ctx, release.BackoutOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID}, By: by})
		return err
	})
}

// launch runs call on run id in the background and answers 202, or the
// error call ended with at once (a refusal, a conflict, a no-go).
func (s *Server) launch(w http.ResponseWriter, r *http.Request, p *Plan, run store.Run, what string, call func(context.Context) error) error {
	id := run.ID
	done := make(chan error, 1)
	ok := s.runs.spawn(what, func(ctx context.Context) {
		tracked := what != "abort" && s.runs.track(id, p, run.Env, "")
		if tracked {
			defer s.runs.untrack(id)
		}
		done <- call(ctx)
	})
	if !ok {
		return errf(http.StatusServiceUnavailable, codeStopping, "the server is stopping")
	}
	select {
	case err := <-done:
		if err != nil && release.KindOf(err) != release.Incomplete {
			return err
		}
	case <-time.After(time.Second):
	}
	s.audit(r, p.File, id, what)
	cur, err := s.svc.Run(r.Context(), release.RunRef{Plan: release.PlanInput{File: p.File}, ID: id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": what, "run": runJSON(cur)})
	return nil
}
