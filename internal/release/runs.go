package release

import (
	"context"
	"errors"
	"fmt"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// RunRef names an existing run: its id (or "last": the newest run of the
// plan, or of the store when the plan cannot be read) and the plan file
// it belongs to (its store is found beside it). Env and Set, when empty,
// are the run's own.
type RunRef struct {
	Plan PlanInput
	ID   string
}

// onRun opens the store and finds the run a call acts on.
func (s *Service) onRun(ctx context.Context, ref RunRef, readOnly bool) (store.Store, store.Run, error) {
	st, err := s.OpenStore(ctx, ref.Plan.file(), StoreMode{Existing: true, ReadOnly: readOnly})
	if err != nil {
		return nil, store.Run{}, err
	}
	r, err := s.findRun(ctx, st, ref)
	if err != nil {
		st.Close()
		return nil, store.Run{}, err
	}
	return st, r, nil
}

// onRunWriting is onRun for a call that writes what a person gave it (a
// comment, a reason) to the run's journal: the store it returns hides every
// secret golive knows here, as a release's store does, since the text may
// quote one. Secrets that cannot be loaded are an error, unless the call
// stops a run (stop): an abort must not wait for them, so its text is then
// written as given and unloaded says why.
func (s *Service) onRunWriting(ctx context.Context, ref RunRef, stop bool) (st store.Store, r store.Run, unloaded error, err error) {
	_, red, serr := s.secrets()
	if serr != nil && !stop {
		return nil, store.Run{}, nil, serr
	}
	if st, r, err = s.onRun(ctx, ref, false); err != nil {
		return nil, r, nil, err
	}
	if serr != nil {
		return st, r, serr, nil
	}
	return store.Redacted(st, red.String), r, nil, nil
}

// Run finds the run ref names.
func (s *Service) Run(ctx context.Context, ref RunRef) (store.Run, error) {
	st, r, err := s.onRun(ctx, ref, true)
	if err != nil {
		return r, err
	}
	st.Close()
	return r, nil
}

// FindRun finds the run ref names in st, a store the caller opened.
func (s *Service) FindRun(ctx context.Context, st store.Store, ref RunRef) (store.Run, error) {
	return s.findRun(ctx, st, ref)
}

// findRun finds the run an id or "last" names.
func (s *Service) findRun(ctx context.Context, st store.Store, ref RunRef) (store.Run, error) {
	id := ref.ID
	if id != "last" {
		r, err := st.GetRun(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return r, &Error{Kind: NotFound, Msg: fmt.Sprintf("no run %q in this store", id), Err: err}
		}
		return r, err
	}
	name, env := "", ref.Plan.Env
	if res, err := load.Load(load.Options{File: ref.Plan.file(), Env: env, AllEnvs: env == ""}); err == nil && res.Plan != nil {
		name = res.Plan.Name
	}
	if name == "" {
		runs, err := st.ListRuns(ctx, store.RunFilter{Limit: 1})
		if err != nil || len(runs) == 0 {
			return store.Run{}, errorf(NotFound, "last: no runs in this store")
		}
		return runs[0], nil
	}
	r, err := st.LatestRun(ctx, name, env)
	if errors.Is(err, store.ErrNotFound) {
		return r, &Error{Kind: NotFound, Msg: fmt.Sprintf("last: plan %q has no runs%s", name, EnvSuffix(env)), Err: err}
	}
	return r, err
}

// EnvSuffix is " in ENV", or "" without an environment.
func EnvSuffix(env string) string {
	if env == "" {
		return ""
	}
	return " in " + env
}

// prepareFor rebuilds the rollout of an existing run from the plan file,
// which must be the one the run started with.
func (s *Service) prepareFor(ctx context.Context, in PlanInput, r store.Run) (*prepared, error) {
	if in.Env == "" {
		in.Env = r.Env
	}
	if len(in.Set) == 0 {
		if st, err := s.OpenStore(ctx, in.file(), StoreMode{}); err == nil {
			in.Set, err = s.runOverrides(ctx, st, r.ID) // the run's own --set
			st.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	pr, err := s.prepare(ctx, in, r.Release, r.PreviousRelease, true, r.ID)
	if err != nil {
		return nil, err
	}
	if pr.plan.Name != r.Plan {
		pr.close()
		return nil, errorf(Invalid, "run %s is of plan %q, not %q: give its plan with -f", r.ID, r.Plan, pr.plan.Name)
	}
	// The plan and overrides are compared with the artifacts the run was
	// created with: backing out does not need the same bytes, going on
	// does (checkArtifacts).
	hash, err := planHash(pr.plan.File, in.Set, r.Artifacts)
	if err != nil {
		pr.close()
		return nil, err
	}
	if hash != r.PlanHash {
		pr.close()
		return nil, errorf(NoGo, "no-go: the plan or its --set overrides changed since run %s started (hash %.12s, now %.12s): restore what it ran with", r.ID, r.PlanHash, hash)
	}
	pr.hash = hash
	pr.kind, pr.override = kindOf(ctx, pr.st, r.ID)
	if pr.override != "" {
		pr.notify.SetOverride(OverrideLine(r.RequesterIdentity().String(), pr.override))
	}
	return pr, nil
}

// checkArtifacts refuses to go on with a run whose artifacts are not the
// bytes it was created, reviewed and approved with: the approvals were
// given for those bytes.
func checkArtifacts(pr *prepared, r store.Run) error {
	switch r.State {
	case store.StatePending, store.StateWaiting, store.StateRunning, store.StatePaused:
		// resume goes on releasing: it may upload
	default:
		return nil // verifying or backing out: nothing is uploaded any more
	}
	if !r.Artifacts.Bound() {
		return nil // recorded by an older golive
	}
	diff := r.Artifacts.Diff(pr.sums)
	if diff == "" {
		return nil
	}
	if pr.artErr != nil {
		diff += " (" + pr.red.String(pr.artErr.Error()) + ")"
	}
	return errorf(NoGo, "no-go: the artifacts changed since run %s was created: %s. Its approvals were given for the bytes it was created with and do not count for these; nothing was changed. Put those artifacts back, or start a new run for the new ones (`golive backout %s` undoes what this one did)", r.ID, diff, r.ID)
}

// ResumeOptions continue a run.
type ResumeOptions struct {
	Run RunRef
	By  store.Identity
	// Accept accepts a failed run (automatic backout off) as it is
	// instead of backing it out.
	Accept   bool
	Wait     bool // a waiting run: wait for what it waits for
	Parallel int
	Watch    Watch
	// TakenOver is the run's lease the caller took over (StealLease
	// under engine.LeaseHolder of this process) from an executor that
	// stopped renewing it: the run continues under it (see
	// engine.Options.TakenOver). nil: take the run over as resume does.
	TakenOver *store.Lease
}

// Resume continues a run from what its journal says. A waiting (or
// pending) run is reviewed again and started on a go; on a wait-only
// no-go it waits (Wait) or keeps waiting (Result.Waiting).
func (s *Service) Resume(ctx context.Context, o ResumeOptions) (*Result, error) {
	if err := checkOnRun(o.Run, o.By, ""); err != nil {
		return nil, err
	}
	st, r, err := s.onRun(ctx, o.Run, false)
	if err != nil {
		return nil, err
	}
	st.Close()
	pr, err := s.prepareFor(ctx, o.Run.Plan, r)
	if err != nil {
		return nil, err
	}
	defer pr.close()
	o.Watch.ready(pr.info())
	eng := s.newEngine(pr, engineOptions{observer: o.Watch.Observer, wait: o.Wait, parallel: o.Parallel, takenOver: o.TakenOver})
	if !o.Accept {
		if err := checkArtifacts(pr, r); err != nil {
			return nil, err
		}
	}
	var out *engine.Outcome
	switch {
	case o.Accept:
		out, err = eng.Accept(ctx, r, pr.ro, o.By.Name)
	case r.State == store.StateWaiting || r.State == store.StatePending:
		return s.resumeWaiting(ctx, pr, eng, r, o)
	default:
		out, err = eng.Resume(ctx, r, pr.ro)
	}
	o.Watch.executed()
	if errors.Is(err, engine.ErrNotResumable) {
		return nil, &Error{Kind: Conflict, Msg: err.Error(), Err: err}
	}
	return s.finish(ctx, pr, out, err)
}

// resumeWaiting reviews a run that waits to start, and starts it when
// nothing it waits for is missing any more.
func (s *Service) resumeWaiting(ctx context.Context, pr *prepared, eng *engine.Engine, r store.Run, o ResumeOptions) (*Result, error) {
	rep := review.Review(ctx, s.reviewInput(pr, eng, "", o.By.Name, &r, true))
	o.Watch.reviewed(rep)
	switch {
	case rep.Go:
		out, err := eng.Continue(ctx, r, pr.ro)
		o.Watch.executed()
		return s.finish(ctx, pr, out, err)
	case rep.WaitOnly:
		return s.waitThenContinue(ctx, pr, eng, waitOptions{run: r, rep: rep, by: o.By, wait: o.Wait, watch: &o.Watch})
	}
	pr.notify.Close(NotifyWait)
	return pr.result(rep), &Error{Kind: NoGo, Msg: fmt.Sprintf("no-go: run %s keeps waiting; nothing was changed", r.ID), Report: rep}
}

// BackoutOptions back out what a run changed.
type BackoutOptions struct {
	Run      RunRef
	By       store.Identity
	Parallel int
	Watch    Watch
	// TakenOver: as in ResumeOptions.
	TakenOver *store.Lease
}

// Backout undoes what the journal says the run touched, newest first;
// safe to call again.
func (s *Service) Backout(ctx context.Context, o BackoutOptions) (*Result, error) {
	if err := checkOnRun(o.Run, o.By, ""); err != nil {
		return nil, err
	}
	st, r, err := s.onRun(ctx, o.Run, false)
	if err != nil {
		return nil, err
	}
	st.Close()
	switch r.State {
	case store.StateSucceeded, store.StateFailed, store.StateBackoutFailed, store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StatePaused:
	default:
		return nil, errorf(Conflict, "run %s is %s: there is nothing to back out", r.ID, r.State)
	}
	why := "requested by " + o.By.String()
	if o.TakenOver != nil {
		why = "controls.takeover is backout: the run's executor " + o.TakenOver.Holder + " was taken over"
	}
	return s.backoutWith(ctx, o.Run.Plan, r, why, engineOptions{parallel: o.Parallel, takenOver: o.TakenOver}, &o.Watch)
}

// backoutHere backs out r in this process.
func (s *Service) backoutHere(ctx context.Context, in PlanInput, r store.Run, why string, parallel int, w *Watch) (*Result, error) {
	return s.backoutWith(ctx, in, r, why, engineOptions{parallel: parallel}, w)
}

func (s *Service) backoutWith(ctx context.Context, in PlanInput, r store.Run, why string, eo engineOptions, w *Watch) (*Result, error) {
	pr, err := s.prepareFor(ctx, in, r)
	if err != nil {
		return nil, err
	}
	defer pr.close()
	w.ready(pr.info())
	eo.observer = w.Observer
	out, err := s.newEngine(pr, eo).Backout(ctx, r, pr.ro, why)
	w.executed()
	return s.finish(ctx, pr, out, err)
}

// checkOnRun checks the values of a call on a run.
func checkOnRun(ref RunRef, by store.Identity, text string) error {
	var c checked
	c.runID(ref.ID)
	c.planInput(ref.Plan)
	c.identity(by)
	c.text("reason", text)
	return c.err()
}
