package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// RehearsalVerdict is how a rehearsal that released, verified and backed
// out ended: Clean when the previous release is healthy again.
type RehearsalVerdict struct {
	Clean    bool
	Message  string   // as journaled (secrets redacted)
	Problems []string // what is not healthy
}

// Rehearse releases exactly as Start does (a go is needed now: a
// rehearsal does not wait for approvals or the window), verifies, backs
// out, then checks the previous release is healthy again, and journals
// the verdict (controls.rehearsed_in counts clean ones). A rehearsal that
// failed before its backout ends as Start does, without a verdict.
func (s *Service) Rehearse(ctx context.Context, o StartOptions) (*Result, error) {
	if err := checkRelease(o.Plan, o.Release, o.Ticket, o.By); err != nil {
		return nil, err
	}
	pr, err := s.prepare(ctx, o.Plan, o.Release, "", false, "")
	if err != nil {
		return nil, err
	}
	defer pr.close()
	pr.kind = KindRehearsal
	o.Watch.ready(pr.info())
	eng := s.newEngine(pr, engineOptions{observer: o.Watch.Observer, wait: o.Wait, parallel: o.Parallel})
	rep := review.Review(ctx, s.reviewInput(pr, eng, o.Ticket, o.By.Name, nil, true))
	o.Watch.reviewed(rep)
	if !rep.Go {
		pr.notify.Close(NotifyWait)
		return pr.result(rep), &Error{Kind: NoGo, Msg: "no-go: a rehearsal needs a go now; nothing was changed", Report: rep}
	}
	o.LockWait = 0
	out, err := eng.Start(ctx, s.request(ctx, pr, o))
	if err != nil || out.Run.State != store.StateSucceeded {
		o.Watch.executed()
		return s.finish(ctx, pr, out, err)
	}
	run := out.Run
	o.Watch.note(fmt.Sprintf("rehearsal %s: %s released and verified; backing it out", run.ID, run.Release))
	out, err = eng.Backout(ctx, out.Run, pr.ro, "rehearsal: backing out after a successful release")
	o.Watch.executed()
	if err != nil || out.Run.State != store.StateBackedOut {
		return s.finish(ctx, pr, out, err)
	}
	problems := s.checkPrevious(ctx, pr, eng, out.Run, &o.Watch)
	v := &RehearsalVerdict{Clean: len(problems) == 0, Problems: problems,
		Message: "rehearsal clean: released, verified, backed out, previous release healthy"}
	verdict := store.ActionPassed
	if !v.Clean {
		verdict, v.Message = store.ActionFailed, "rehearsal: the previous release is not healthy after the backout: "+strings.Join(problems, "; ")
	}
	v.Message = pr.red.String(v.Message)
	pr.st.AppendEvent(ctx, store.Event{RunID: run.ID, Kind: review.KindRehearsal, Action: verdict,
		Actor: o.By.Name, ActorVia: o.By.Via, ActorOSUser: o.By.OSUser, ActorToken: o.By.Token, Message: v.Message})
	res, err := s.finish(ctx, pr, out, nil)
	res.Rehearsal = v
	return res, err
}

// checkPrevious runs the checks of the release that was live before.
func (s *Service) checkPrevious(ctx context.Context, pr *prepared, eng *engine.Engine, run store.Run, w *Watch) []string {
	if run.PreviousRelease == "" {
		w.note("no release was live before: nothing to check after the backout")
		return nil
	}
	secrets, _, err := s.secrets()
	if err != nil {
		return []string{err.Error()}
	}
	ro, err := rollout.Build(rollout.Input{Plan: pr.plan, Release: run.PreviousRelease, RunID: run.ID, Env: s.Environ, Secrets: secrets})
	if err != nil {
		return []string{err.Error()}
	}
	return eng.CheckLive(ctx, run, ro)
}
