package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/notify"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/window"
)

// Service is the release core: what `golive run`, `resume`, `approve` ...
// and `golive serve` do, without flags, printing or exit codes. A front end
// fills in how stores are opened and secrets loaded, then calls its
// methods with plain option structs and the identity that acts.
type Service struct {
	// OpenStore opens the state store of the plan in planFile: with
	// Existing, only one that exists (commands on runs must not create
	// one); with ReadOnly, one that cannot be written here may be opened
	// read-only. Required.
	OpenStore func(ctx context.Context, planFile string, mode StoreMode) (store.Store, error)
	// Secrets returns the secrets given to golive and a redactor hiding
	// them (the front end's own, so that what it prints is redacted too).
	// nil: no secrets.
	Secrets func() (map[string]string, *redact.Redactor, error)
	// Diags is told every diagnostic of loading a plan, warnings too.
	Diags func(plan.Diags)
	// Environ is the process environment steps see (${{ env.X }}),
	// without secrets.
	Environ map[string]string
	// SSH configures the ssh transport (when Transports is nil).
	SSH SSHOptions
	// Transports by plan transport name; nil: local and ssh.
	Transports map[string]transport.Transport
	// Logger gets warnings (an unverified ssh host key); nil: discarded.
	Logger *slog.Logger
	// Clock is the engine's and the review's clock; nil: the real one.
	Clock clock.Clock
	// Abandon, when closed, abandons a backout in progress (see
	// engine.Options.Abandon).
	Abandon <-chan struct{}
	// Observer is told every journal event of every run this service
	// executes (besides each call's own Watch.Observer).
	Observer engine.Observer
	// Heartbeat is how often an executing run renews its lock and lease;
	// LeaseTTL how long its lease lasts without a renewal (0: the
	// engine's defaults, 5s and store.HeartbeatTimeout).
	Heartbeat, LeaseTTL time.Duration
}

// StoreMode says how OpenStore opens a store.
type StoreMode struct {
	Existing bool // the store must exist already
	ReadOnly bool // only reads follow: a read-only store will do
}

// SSHOptions tune the ssh transport.
type SSHOptions struct {
	InsecureIgnoreHostKeys    bool
	KeepAlive, ConnectTimeout time.Duration
}

// PlanInput says which plan a call is about.
type PlanInput struct {
	File string   // the plan file (load.DefaultFile when empty)
	Env  string   // the environment to apply
	Set  []string // NAME=VALUE overrides of settable vars
	// SetFrom says who gives Set: plan.FromOperator (the CLI, the zero
	// value) or plan.FromNetwork (the server: only `settable:` vars).
	SetFrom plan.Origin
}

func (p PlanInput) file() string {
	if p.File == "" {
		return load.DefaultFile
	}
	return p.File
}

// Watch is how a caller follows a call as it happens. Every field may be
// nil.
type Watch struct {
	// Ready: the plan is loaded and the rollout built (RunID is set for an
	// existing run); nothing is reviewed or executed yet.
	Ready func(Prepared)
	// Observer is told every journal event of the run.
	Observer engine.Observer
	// Reviewed: the go/no-go report, before anything is created.
	Reviewed func(*review.Report)
	// Created: a new run, before it is executed.
	Created func(store.Run)
	// Waits: the run waits (Wait) for what reasons say.
	Waits func(run store.Run, reasons []string)
	// Executed: the call has finished executing on targets (what follows
	// is only reading and recording); a live display can end here.
	Executed func()
	// Note: a line for a person about what the core does next ("no
	// release was live before: nothing to check after the backout").
	Note func(string)
}

func (w *Watch) note(s string) {
	if w.Note != nil {
		w.Note(s)
	}
}

func (w *Watch) executed() {
	if w.Executed != nil {
		w.Executed()
	}
}

func (w *Watch) ready(p Prepared) {
	if w.Ready != nil {
		w.Ready(p)
	}
}

func (w *Watch) reviewed(r *review.Report) {
	if w.Reviewed != nil {
		w.Reviewed(r)
	}
}

// Prepared is what Watch.Ready shows of a prepared call.
type Prepared struct {
	Plan     *plan.Plan
	Rollout  *rollout.Rollout
	RunID    string
	Redactor *redact.Redactor
}

// prepared is everything a call needs to execute a plan's rollout.
type prepared struct {
	in        PlanInput
	runID     string
	plan      *plan.Plan
	ro        *rollout.Rollout
	st        store.Store
	red       *redact.Redactor
	hash      string // planHash of the plan, --set and sums
	sums      store.ArtifactSums
	secrets   map[string]string
	artifacts map[string]artifact.File
	artErr    error
	window    *window.Window
	notify    *notify.Notifier
	kind      string // what the run is (KindRelease...)
	force     bool   // redeploy the release already live
	override  string // the reason of a break-glass run
	// trs are the transports of the call (the review's and the run's: a
	// connection the review opened is reused by the run).
	trs map[string]transport.Transport
}

// transports are the transports of pr's call.
func (s *Service) transportsFor(pr *prepared) map[string]transport.Transport {
	if pr.trs == nil {
		pr.trs = s.transports()
	}
	return pr.trs
}

// close closes pr's store and the connections its transports kept for
// reuse.
func (pr *prepared) close() error {
	for _, t := range pr.trs {
		if c, ok := t.(interface{ CloseIdle() }); ok {
			c.CloseIdle()
		}
	}
	return pr.st.Close()
}

// prepare loads the plan, opens the store and builds the rollout for
// release with previous (looked up unless known); runID is "" for a new
// run.
func (s *Service) prepare(ctx context.Context, in PlanInput, release, previous string, known bool, runID string) (*prepared, error) {
	p, err := s.loadPlan(in)
	if err != nil {
		return nil, err
	}
	st, err := s.OpenStore(ctx, p.File, StoreMode{})
	if err != nil {
		return nil, err
	}
	pr := &prepared{in: in, runID: runID, plan: p, st: st}
	if !known {
		if previous, err = st.PreviousRelease(ctx, p.Name, p.Env); err != nil {
			st.Close()
			return nil, err
		}
	}
	if pr.secrets, pr.red, err = s.secrets(); err != nil {
		st.Close()
		return nil, err
	}
	// Every write to the journal from here on hides the secrets.
	pr.st = store.Redacted(st, pr.red.String)
	if err := s.build(pr, release, previous, runID); err != nil {
		st.Close()
		return nil, err
	}
	return pr, nil
}

func (s *Service) build(pr *prepared, release, previous, runID string) error {
	var err error
	p := pr.plan
	pr.ro, err = rollout.Build(rollout.Input{Plan: p, Release: release, Previous: previous, RunID: runID, Env: s.Environ, Secrets: pr.secrets})
	if err != nil {
		return &Error{Kind: Invalid, Msg: pr.red.String(err.Error()), Err: err}
	}
	if pr.window, err = review.Window(p.Window); err != nil {
		return &Error{Kind: Invalid, Msg: err.Error(), Err: err}
	}
	pr.notify = notify.New(pr.ro, pr.st, pr.red, p.Owner, p.Contacts)
	pr.verifyArtifacts()
	if pr.hash, err = planHash(p.File, pr.in.Set, pr.sums); err != nil {
		return err
	}
	return nil
}

// verifyArtifacts hashes the artifacts again.
func (pr *prepared) verifyArtifacts() {
	pr.artifacts, pr.artErr = artifact.Verify(pr.ro, func(path string) string { return load.Path(pr.plan, path) })
	pr.sums = review.Sums(pr.artifacts)
}

func (pr *prepared) info() Prepared {
	return Prepared{Plan: pr.plan, Rollout: pr.ro, RunID: pr.runID, Redactor: pr.red}
}

func (s *Service) secrets() (map[string]string, *redact.Redactor, error) {
	if s.Secrets == nil {
		return map[string]string{}, redact.New(), nil
	}
	sec, red, err := s.Secrets()
	if err != nil {
		return nil, nil, err
	}
	if red == nil {
		red = redact.New()
	}
	return sec, red, nil
}

// loadPlan loads the plan for a call that acts on one environment. Its
// diagnostics go to Service.Diags; errors make an Invalid error.
func (s *Service) loadPlan(in PlanInput) (*plan.Plan, error) {
	set, err := setMap(in.Set)
	if err != nil {
		return nil, err
	}
	res, err := load.Load(load.Options{File: in.file(), Env: in.Env, Set: set, SetFrom: in.SetFrom})
	if err != nil {
		return nil, err
	}
	if s.Diags != nil && len(res.Diags) > 0 {
		s.Diags(res.Diags)
	}
	if res.Diags.HasErrors() || res.Plan == nil {
		return nil, &Error{Kind: Invalid, Diags: res.Diags}
	}
	return res.Plan, nil
}

func setMap(set []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, errorf(Invalid, "--set %q: want NAME=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// engineOptions are what every engine of a call shares.
type engineOptions struct {
	observer  engine.Observer
	wait      bool
	parallel  int
	takenOver *store.Lease // the run's lease the caller took over
}

// reuseIdle is how long the ssh transport keeps a connection the review
// closed for the run (or a batch's for a later check) to log in on again.
const reuseIdle = time.Minute

// maxIdle caps the connections kept for reuse: the review of a big fleet
// logs in to every host, and the run takes the first batches' connections
// (the review dials in plan order); the others would hold ~0.1-0.3 MB of
// the controller's memory each until reuseIdle ends them.
const maxIdle = 256

// transports are the transports a call reaches targets with.
func (s *Service) transports() map[string]transport.Transport {
	if s.Transports != nil {
		return s.Transports
	}
	return map[string]transport.Transport{
		"local": &local.Transport{},
		"ssh": &sshtr.Transport{InsecureIgnoreHostKeys: s.SSH.InsecureIgnoreHostKeys, Logger: s.Logger,
			KeepAlive: s.SSH.KeepAlive, ConnectTimeout: s.SSH.ConnectTimeout, ReuseIdle: reuseIdle, MaxIdle: maxIdle},
	}
}

// dialer reaches pr's targets for the review's fact probes and drift
// check, read-only, without the engine.
func (s *Service) dialer(pr *prepared) *check.Dialer {
	return &check.Dialer{Transports: s.transportsFor(pr), PlanDir: filepath.Dir(pr.plan.File),
		Resolve: func(path string) string { return load.Path(pr.plan, path) }}
}

func (s *Service) newEngine(pr *prepared, o engineOptions) *engine.Engine {
	return engine.New(engine.Options{
		Store:      pr.st,
		Transports: s.transportsFor(pr),
		Clock:      s.Clock,
		Observer:   observers{o.observer, pr.notify, s.Observer},
		Abandon:    s.Abandon,
		Redactor:   pr.red,
		Parallel:   o.parallel,
		Artifacts:  pr.artifacts,
		PlanDir:    filepath.Dir(pr.plan.File),
		Resolve:    func(path string) string { return load.Path(pr.plan, path) },
		Wait:       o.wait,
		Approvals:  pr.plan.Controls.Approvals,
		Window:     pr.engineWindow(),
		OnClose:    review.OnClose(pr.plan.Window),
		Heartbeat:  s.Heartbeat,
		LeaseTTL:   s.LeaseTTL,
		TakenOver:  o.takenOver,
	})
}

// engineWindow is the window the engine holds a run to: none for a
// break-glass run.
func (pr *prepared) engineWindow() *window.Window {
	if pr.override != "" {
		return nil
	}
	return pr.window
}

// observers tells several observers about each event; nil ones are skipped.
type observers []engine.Observer

func (os observers) Observe(ev store.Event) {
	for _, o := range os {
		if o != nil && !isNilNotifier(o) {
			o.Observe(ev)
		}
	}
}

func isNilNotifier(o engine.Observer) bool {
	n, ok := o.(*notify.Notifier)
	return ok && n == nil
}

// NotifyWait is how long a call waits, at its end, for release
// communications still being delivered.
const NotifyWait = 15 * time.Second

// PlanHash is what a run is bound to: the plan's content (load.Hash: the
// file and every inventory it names), the --set overrides it runs with and
// the sha256 of every artifact (when arts is bound: runs recorded before
// golive bound runs to artifacts have none). Approvals, resumes and
// rehearsals count only for exactly this.
func PlanHash(file string, set []string, arts store.ArtifactSums) (string, error) {
	return planHash(file, set, arts)
}

func planHash(file string, set []string, arts store.ArtifactSums) (string, error) {
	h, err := load.Hash(file)
	if err != nil || (len(set) == 0 && !arts.Bound()) {
		return h, err
	}
	pairs := append([]string(nil), set...)
	sort.Strings(pairs)
	in := h + "\x00" + strings.Join(pairs, "\x00")
	if arts.Bound() {
		in += "\x00artifacts\x00" + string(arts)
	}
	sum := sha256.Sum256([]byte(in))
	return hex.EncodeToString(sum[:]), nil
}
