package release

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// Status is what the store says about a run now.
type Status struct {
	Run    store.Run
	Events []store.Event
	// Lock is the environment lock when this run holds it.
	Lock *store.Lock
	// Lease is the run's lease (Epoch 0: never leased).
	Lease store.Lease
	// ControllerGone: the run says it is being executed and nobody is.
	ControllerGone bool
	Approvals      []store.Approval
	// NotCounted says, by approval id, why the plan's rules (when its
	// file is at hand) do not count an approval.
	NotCounted map[int64]string
	// RunApprovals is the tally of the run's own approvals now, by the
	// plan's rules (nil when the plan asks for none or its file is not at
	// hand). A waiting run's Reason was recorded at its creation: this is
	// where it stands since.
	RunApprovals *approval.Tally
	// OverrideApproval is the tally of a break-glass run's approval now
	// (nil for other runs).
	OverrideApproval *approval.Tally
}

// Status reads a run: its journal, lock, approvals. It changes nothing
// and opens a store that cannot be written here read-only.
func (s *Service) Status(ctx context.Context, ref RunRef) (*Status, error) {
	st, r, err := s.onRun(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := &Status{Run: r}
	if out.Events, err = st.Events(ctx, r.ID, 0); err != nil {
		return nil, err
	}
	lock, lockErr := st.GetLock(ctx, r.Plan, r.Env)
	out.Lease, _ = st.GetLease(ctx, r.ID) // none from a store too old to have leases
	out.ControllerGone = controllerGone(r, lock, lockErr, out.Lease)
	if lockErr == nil && lock.RunID == r.ID {
		out.Lock = &lock
	}
	if out.Approvals, err = st.ListApprovals(ctx, r.ID); err != nil {
		return nil, err
	}
	out.NotCounted, out.RunApprovals, out.OverrideApproval = tallies(r, ref.Plan.file(), out.Approvals, out.Events)
	return out, nil
}

// controllerGone reports whether a run that says it is being executed has
// nobody executing it: no lock, a lock whose holder is gone, or a lease
// its holder stopped renewing (as the engine judges it).
func controllerGone(r store.Run, lock store.Lock, lockErr error, lease store.Lease) bool {
	switch r.State {
	case store.StateRunning, store.StateVerifying, store.StateBackingOut:
	default:
		return false
	}
	return !executing(r.ID, lock, lockErr, lease, time.Now())
}

// executing reports whether run id has a live executor at now: the
// environment lock is held for it, its holder is not known to be gone
// (its pid ended, on this host in this pid space), and the run's lease,
// when it has one, has not expired. A live pid proves nothing on its own:
// a paused (SIGSTOP) or partitioned executor stops renewing its lease and
// is gone for everybody once it expired, although its process lives.
func executing(id string, lock store.Lock, lockErr error, lease store.Lease, now time.Time) bool {
	if lockErr != nil || lock.RunID != id {
		return false
	}
	if lease.RunID == id && lease.Epoch > 0 && lease.Expired(now) {
		return false
	}
	return !store.HolderGone(lock, now, store.ThisHolder(), store.PIDAlive)
}

// tallies says, by approval id, why the plan's rules (when its file is
// at hand) do not count an approval, as the run is recorded (a status does
// not hash the artifacts again: resume does), and the tally of the run's
// own approvals when the plan asks for some.
func tallies(r store.Run, file string, approvals []store.Approval, events []store.Event) (map[int64]string, *approval.Tally, *approval.Tally) {
	out := map[int64]string{}
	res, err := load.Load(load.Options{File: file, Env: r.Env, AllEnvs: r.Env == ""})
	if err != nil || res.Plan == nil || res.Plan.Name != r.Plan {
		return out, nil, nil
	}
	var run, override *approval.Tally
	if rules := approval.RulesFor(res.Plan.Controls.Approvals, 0); rules.Required > 0 {
		t := approval.Count(rules, approval.SubjectOf(r, r.PlanHash, ""), approvals)
		run = &t
	}
	if kind, _ := RunKind(events); kind == KindOverride && res.Plan.Controls.Override != nil {
		t := approval.Count(review.OverrideRules(res.Plan.Controls.Override.Approvers), approval.SubjectOf(r, r.PlanHash, GateOverride), approvals)
		override = &t
		for _, ig := range t.Ignored {
			out[ig.Approval.ID] = ig.Why
		}
	}
	gates := map[string]bool{}
	for _, a := range approvals {
		gates[a.Gate] = true
	}
	delete(gates, GateOverride) // counted above, by its own rules
	for gate := range gates {
		rules := approval.RulesFor(res.Plan.Controls.Approvals, res.Plan.GateApprovals(gate))
		t := approval.Count(rules, approval.SubjectOf(r, r.PlanHash, gate), approvals)
		for _, ig := range t.Ignored {
			out[ig.Approval.ID] = ig.Why
		}
	}
	return out, run, override
}

// EventsOptions read a run's journal.
type EventsOptions struct {
	Run   RunRef
	After int64 // events after this seq
	// Follow keeps reading new events until the run is terminal and its
	// journal read to the end, or ctx ends (not an error).
	Follow bool
	// Every is how often a follower looks for new events (default 300ms).
	Every time.Duration
}

// Events calls fn with each journal event of the run after o.After, in
// order (Seq is the event's id for a resumed follower). An error from fn
// stops it.
func (s *Service) Events(ctx context.Context, o EventsOptions, fn func(store.Event) error) error {
	st, r, err := s.onRun(ctx, o.Run, true)
	if err != nil {
		return err
	}
	defer st.Close()
	return FollowJournal(ctx, st, r.ID, o.After, o.Follow, o.Every, fn)
}

// RunsOptions list runs.
type RunsOptions struct {
	Plan   PlanInput     // its store; its runs only, when the plan can be read
	States []store.State // any of these states (default: all)
	Limit  int           // at most this many (0: all)
	// Name is the plan's name when the caller has read the plan already
	// (a server lists runs often): the file is not read again.
	Name string
}

// Runs lists the runs of the plan, newest first. The plan's runs only
// when its file can be read (else every run in its store), of Plan.Env
// when given.
func (s *Service) Runs(ctx context.Context, o RunsOptions) ([]store.Run, error) {
	st, err := s.OpenStore(ctx, o.Plan.file(), StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	filter := store.RunFilter{Plan: o.Name, Env: o.Plan.Env, States: o.States, Limit: o.Limit}
	if filter.Plan == "" {
		res, err := load.Load(load.Options{File: o.Plan.file(), Env: o.Plan.Env, AllEnvs: o.Plan.Env == ""})
		if err == nil && res.Plan != nil && res.Plan.Name != "" {
			filter.Plan = res.Plan.Name
		}
	}
	return st.ListRuns(ctx, filter)
}

var (
	approvalsFraction = regexp.MustCompile(`(^|[^-])approvals: [0-9]+/[0-9]+`)
	overrideFraction  = regexp.MustCompile(`break-glass approval: [0-9]+/[0-9]+`)
)

// Reason is why the run is in its state, as it stands now: a waiting
// run's recorded reason ("waiting for approvals: 0/2 ...") was written
// when it was created; its approval count is today's.
func (s *Status) Reason() string {
	reason := s.Run.Reason
	if s.Run.State != store.StateWaiting {
		return reason
	}
	if t := s.RunApprovals; t != nil {
		reason = approvalsFraction.ReplaceAllString(reason, fmt.Sprintf("${1}approvals: %d/%d", min(len(t.Approved), t.Required), t.Required))
	}
	if t := s.OverrideApproval; t != nil {
		reason = overrideFraction.ReplaceAllLiteralString(reason, fmt.Sprintf("break-glass approval: %d/%d", min(len(t.Approved), t.Required), t.Required))
	}
	return reason
}
