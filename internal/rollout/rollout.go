package rollout

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/values"
)

// Default timings of the contract.
const (
	DefaultStepTimeout   = 10 * time.Minute
	DefaultCheckTimeout  = 30 * time.Second
	DefaultCheckInterval = time.Second
)

// Input is what a rollout is computed from.
type Input struct {
	Plan     *plan.Plan
	Release  string
	Previous string
	RunID    string
	Env      map[string]string // the controller's environment
	Secrets  map[string]string
}

// Rollout is a plan made concrete for one release.
type Rollout struct {
	Plan      string   `json:"plan"`
	Env       string   `json:"environment,omitempty"`
	Release   string   `json:"release"`
	Previous  string   `json:"previous"`
	Preflight []*Check `json:"preflight"`
	// Facts are the preflight checks that are fact probes; the review
	// gathers them per host in one script (facts.go).
	Facts []*Check `json:"facts,omitempty"`
	// Current is targets.current for every host of a stage (drift).
	Current   []*CurrentProbe `json:"current,omitempty"`
	Stages    []*Stage        `json:"stages"`
	Verify    []*Check        `json:"verify"`
	Monitors  []*Monitor      `json:"monitors"`
	Notify    []*Notify       `json:"notify,omitempty"`
	Artifacts []*Artifact     `json:"artifacts,omitempty"`
	AutoBack  bool            `json:"automatic_backout"`

	// VerifyBackout: a backed-out host counts as backed out only when
	// its Restore checks pass (backout.verify).
	VerifyBackout bool `json:"verify_backout"`
}

// Artifact is a release artifact with its paths rendered (still relative
// to the plan, as written).
type Artifact struct {
	Name       string `json:"name"`
	Path       string `json:"path,omitempty"`
	URL        string `json:"url,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	SHA256File string `json:"sha256_file,omitempty"`
	// ShownURL is URL rendered with every secret as ***: what messages
	// name (a failed download's URL may carry a token).
	ShownURL string `json:"-"`
}

// Monitor is a fleet-wide signal with its query rendered.
type Monitor struct {
	Name         string        `json:"name"`
	URL          string        `json:"url"`
	Query        string        `json:"query"`
	Condition    string        `json:"condition"`
	Interval     time.Duration `json:"interval_ns"`
	FailureLimit int           `json:"failure_limit"`

	// Compare: the query is evaluated for the canary and the baseline;
	// see compare.go.
	Compare           *Compare `json:"compare,omitempty"`
	InconclusiveLimit int      `json:"inconclusive_limit,omitempty"`
}

// Notify is a release communication channel with its address rendered.
type Notify struct {
	Name    string   `json:"name"`
	Webhook string   `json:"webhook"`
	On      []string `json:"on"` // empty: every event
	// Format is the body: json (""), slack or teams; Template the message
	// text (plan.NotifyFields), "" for golive's own.
	Format   string `json:"format,omitempty"`
	Template string `json:"template,omitempty"`
}

// Stage is a stage with its batches.
type Stage struct {
	Name      string        `json:"name"`
	Gate      int           `json:"gate_approvals,omitempty"`
	Hosts     int           `json:"hosts"`
	MaxFailed int           `json:"max_failed"`
	Pause     time.Duration `json:"pause_ns,omitempty"`
	Batches   []*Batch      `json:"batches"`
	HasHealth bool          `json:"-"`
}

// Batch is the hosts of a stage worked on at the same time.
type Batch struct {
	Index  int     `json:"index"`
	Canary bool    `json:"canary"`
	Hosts  []*Host `json:"hosts"`
}

// Host is one target's work in a stage.
type Host struct {
	Name      string       `json:"name"`
	Address   string       `json:"address,omitempty"`
	Transport string       `json:"transport"`
	Dir       string       `json:"dir,omitempty"`
	User      string       `json:"user,omitempty"`
	Port      int          `json:"port,omitempty"`
	Identity  string       `json:"identity_file,omitempty"`
	Known     string       `json:"known_hosts,omitempty"`
	Jump      string       `json:"jump,omitempty"`
	Steps     []*Step      `json:"steps"`
	Health    []*Check     `json:"health"`
	Target    *plan.Target `json:"-"`

	// Restore is Health rendered for the release a backout restores
	// (release.version = the previous release, release.previous = this
	// release); empty on a first release or with backout.verify: false.
	Restore []*Check `json:"-"`
}

// Step is one rendered step.
type Step struct {
	Name    string            `json:"name"`
	Run     string            `json:"run,omitempty"`
	Upload  *Upload           `json:"upload,omitempty"`
	Backout string            `json:"backout,omitempty"`
	Timeout time.Duration     `json:"timeout_ns"`
	Retries int               `json:"retries"`
	Skip    bool              `json:"skip,omitempty"` // when: was false
	Env     map[string]string `json:"env,omitempty"`
	Local   bool              `json:"local,omitempty"`
	Prepare bool              `json:"prepare,omitempty"` // run ahead, for the next batch
	// SHA256Of names the artifact whose verified sha256 the script gets
	// as $GOLIVE_ARTIFACT_SHA256 (release-dir's verify step).
	SHA256Of string `json:"sha256_of,omitempty"`
	// From is the step file the step was included from ("" for the plan).
	From string `json:"from,omitempty"`
}

// Upload is a rendered upload.
type Upload struct {
	Artifact string `json:"artifact,omitempty"`
	Src      string `json:"src,omitempty"`
	To       string `json:"to"`
	Mode     string `json:"mode"`
}

// Check is a rendered check.
type Check struct {
	Name      string        `json:"name"`
	Kind      string        `json:"kind"` // run, http, tcp, confirm
	Run       string        `json:"run,omitempty"`
	URL       string        `json:"url,omitempty"`
	Status    int           `json:"status,omitempty"`
	Contains  string        `json:"contains,omitempty"`
	Address   string        `json:"address,omitempty"`
	Approvals int           `json:"approvals,omitempty"`
	Timeout   time.Duration `json:"timeout_ns"`
	Interval  time.Duration `json:"interval_ns"`
	On        []string      `json:"on,omitempty"`
	Local     bool          `json:"local,omitempty"`
	// Targets are the hosts a preflight or verify check runs on (empty:
	// the controller).
	Targets []*Host `json:"targets,omitempty"`
	// PerTarget is the check rendered for each of Targets (with its
	// host.* names), in the same order.
	PerTarget []*Check `json:"per_target,omitempty"`
	// Fact is the probe of a fact check (Kind "fact").
	Fact *Fact `json:"fact,omitempty"`
}

// Build computes the rollout. Errors are expression failures (a missing
// secret, a var that does not render) naming where they happened.
func Build(in Input) (*Rollout, error) {
	p := in.Plan
	if err := checkVersions(in); err != nil {
		return nil, err
	}
	base, err := baseScope(in)
	if err != nil {
		return nil, err
	}
	r := &Rollout{Plan: p.Name, Env: p.Env, Release: in.Release, Previous: in.Previous, AutoBack: p.Backout.IsAutomatic(), VerifyBackout: p.Backout.IsVerified()}
	targets := p.ResolveTargets()
	shown := base
	if len(in.Secrets) > 0 {
		if shown, err = baseScope(in.ForDisplay()); err != nil {
			return nil, err
		}
	}
	for _, a := range p.Release.Artifacts {
		ra := &Artifact{Name: a.Name}
		if a.URL != "" {
			if ra.ShownURL, err = plan.Render(a.URL, shown); err != nil {
				return nil, fmt.Errorf("artifact %q: %w", a.Name, err)
			}
		}
		for _, f := range []struct {
			dst *string
			src string
		}{{&ra.Path, a.Path}, {&ra.URL, a.URL}, {&ra.SHA256, a.SHA256}, {&ra.SHA256File, a.SHA256File}} {
			v, err := plan.Render(f.src, base)
			if err != nil {
				return nil, fmt.Errorf("artifact %q: %w", a.Name, err)
			}
			*f.dst = v
		}
		r.Artifacts = append(r.Artifacts, ra)
	}
	if err := buildFacts(r, p, targets, base); err != nil {
		return nil, err
	}
	for i := range p.Preflight {
		if IsFact(&p.Preflight[i]) {
			continue
		}
		c, err := targetCheck(&p.Preflight[i], targets, base)
		if err != nil {
			return nil, fmt.Errorf("preflight %q: %w", p.Preflight[i].Name, err)
		}
		r.Preflight = append(r.Preflight, c)
	}
	for i := range p.Stages {
		s, err := buildStage(&p.Stages[i], targets, base)
		if err != nil {
			return nil, err
		}
		r.Stages = append(r.Stages, s)
	}
	if err := buildRestore(r, in, targets); err != nil {
		return nil, err
	}
	for i := range p.Verify {
		c, err := targetCheck(&p.Verify[i], targets, base)
		if err != nil {
			return nil, fmt.Errorf("verify %q: %w", p.Verify[i].Name, err)
		}
		r.Verify = append(r.Verify, c)
	}
	for _, m := range p.Monitors {
		rm := &Monitor{Name: m.Name, Condition: m.Condition, Interval: m.Interval.Or(10 * time.Second), FailureLimit: max(m.FailureLimit, 1)}
		qscope := compareMonitor(rm, &m, base)
		if m.Prometheus != nil {
			var err error
			if rm.URL, err = plan.Render(m.Prometheus.URL, base); err == nil {
				rm.Query, err = plan.Render(m.Prometheus.Query, qscope)
			}
			if err != nil {
				return nil, fmt.Errorf("monitor %q: %w", m.Name, err)
			}
		}
		r.Monitors = append(r.Monitors, rm)
	}
	for _, n := range p.Notify {
		url, err := plan.Render(n.Webhook, base)
		if err != nil {
			return nil, fmt.Errorf("notify %q: %w", n.Name, err)
		}
		r.Notify = append(r.Notify, &Notify{Name: n.Name, Webhook: url, On: n.On, Format: n.Format, Template: n.Template})
	}
	return r, nil
}

// checkVersions refuses a release or previous release that breaks the
// version rule: they reach every script as ${{ release.* }} and
// GOLIVE_RELEASE/GOLIVE_PREVIOUS, so only values that mean nothing to a
// shell get that far. The previous release comes from the store; a value
// recorded by an older golive, or written there by hand, is checked too.
func checkVersions(in Input) error {
	if err := values.Version("release", in.Release); err != nil {
		return err
	}
	if in.Previous != "" {
		if err := values.Version("previous release", in.Previous); err != nil {
			return fmt.Errorf("%w (the store records it as live before this release; golive will not put it into a script)", err)
		}
	}
	return nil
}

func buildStage(ps *plan.Stage, targets []*plan.Target, base *plan.Scope) (*Stage, error) {
	hosts, _ := plan.Select(targets, ps.On)
	s := &Stage{Name: ps.Name, Hosts: len(hosts), Pause: ps.Strategy.Pause.D(), HasHealth: len(ps.Health) > 0,
		MaxFailed: FailureBudget(len(hosts), ps.Strategy.MaxFailed)}
	if ps.Gate != nil {
		s.Gate = ps.Gate.Approvals
	}
	next := 0
	for bi, size := range Split(len(hosts), ps.Strategy.Canary, ps.Strategy.Batch) {
		b := &Batch{Index: bi + 1, Canary: bi == 0 && ps.Strategy.Canary != nil && ps.Strategy.Canary.N > 0}
		for _, t := range hosts[next : next+size] {
			scope := HostScope(base, t, ps.Name, b.Index)
			h, err := buildHost(ps, t, scope)
			if err != nil {
				return nil, fmt.Errorf("stage %q host %q: %w", ps.Name, t.Name, err)
			}
			b.Hosts = append(b.Hosts, h)
		}
		next += size
		s.Batches = append(s.Batches, b)
	}
	return s, nil
}

func buildHost(ps *plan.Stage, t *plan.Target, scope *plan.Scope) (*Host, error) {
	h, err := newHost(t, scope)
	if err != nil {
		return nil, err
	}
	for i := range ps.Steps {
		st, err := renderStep(&ps.Steps[i], scope)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", ps.Steps[i].Name, err)
		}
		h.Steps = append(h.Steps, st)
	}
	for i := range ps.Health {
		c, err := renderCheck(&ps.Health[i], scope)
		if err != nil {
			return nil, fmt.Errorf("health %q: %w", ps.Health[i].Name, err)
		}
		h.Health = append(h.Health, c)
	}
	return h, nil
}

// targetCheck renders a preflight or verify check once for the whole run
// (what the preview shows) and for each target it runs on. A check that
// runs on targets may read host.vars, which only a target's rendering has:
// then the run's rendering shows the first target's.
func targetCheck(pc *plan.Check, targets []*plan.Target, base *plan.Scope) (*Check, error) {
	c, err := renderCheck(pc, base)
	if err != nil && (pc.Local || len(pc.On) == 0) {
		return nil, err
	}
	if perr := perTarget(c, pc, targets, base); perr != nil {
		return nil, perr
	}
	if err != nil {
		if len(c.PerTarget) == 0 {
			return nil, err
		}
		shown := *c.PerTarget[0]
		shown.Targets, shown.PerTarget = c.Targets, c.PerTarget
		c = &shown
	}
	return c, nil
}

// perTarget resolves where a preflight or verify check runs (nowhere: the
// controller, when it is local or names no targets) and renders it for
// each target.
func perTarget(c *Check, pc *plan.Check, targets []*plan.Target, base *plan.Scope) error {
	if pc.Local || len(pc.On) == 0 {
		return nil
	}
	sel, _ := plan.Select(targets, pc.On)
	for _, t := range sel {
		scope := HostScope(base, t, "", 0)
		rc, err := renderCheck(pc, scope)
		if err != nil {
			return fmt.Errorf("host %s: %w", t.Name, err)
		}
		h, err := newHost(t, scope)
		if err != nil {
			return err
		}
		c.Targets = append(c.Targets, h)
		c.PerTarget = append(c.PerTarget, rc)
	}
	return nil
}

// newHost renders a target's connection settings: they may use
// expressions too (identity_file: ${{ env.DEPLOY_KEY }}).
func newHost(t *plan.Target, scope *plan.Scope) (*Host, error) {
	var err error
	r := func(field, s string) string {
		out, rerr := plan.Render(s, scope)
		if rerr != nil && err == nil {
			err = fmt.Errorf("host %s: %s: %w", t.Name, field, rerr)
		}
		return out
	}
	h := &Host{Name: t.Name, Transport: t.Transport, Port: t.Port, Target: t,
		Address: r("address", t.Address), Dir: r("dir", t.Dir), User: r("user", t.User),
		Identity: r("identity_file", t.IdentityFile), Known: r("known_hosts", t.KnownHosts), Jump: r("jump", t.Jump)}
	if err == nil && h.Address != "" && h.Address != t.Address {
		if aerr := values.Address("address", h.Address); aerr != nil {
			err = fmt.Errorf("host %s: %w", t.Name, aerr) // rendered from an expression
		}
	}
	return h, err
}

// HostScope is the expression scope for one host of a stage's batch.
func HostScope(base *plan.Scope, t *plan.Target, stage string, batch int) *plan.Scope {
	s := *base
	vars := map[string]any{}
	for k, v := range t.Vars {
		vars[k] = v
	}
	s.Host = map[string]any{"name": t.Name, "address": t.Address, "roles": t.Roles, "vars": vars}
	s.Stage = map[string]any{"name": stage}
	s.Batch = map[string]any{"index": batch}
	return &s
}

func renderStep(ps *plan.Step, scope *plan.Scope) (*Step, error) {
	st := &Step{Name: ps.Name, Timeout: ps.Timeout.Or(DefaultStepTimeout), Retries: ps.Retries, Local: ps.Local, Prepare: ps.Prepare, SHA256Of: ps.SHA256Of, From: ps.File}
	var err error
	r := func(s string) string {
		if err != nil {
			return ""
		}
		var out string
		out, err = plan.Render(s, scope)
		return out
	}
	if ps.When != "" {
		ok, werr := plan.EvalBool(ps.When, scope)
		if werr != nil {
			return nil, fmt.Errorf("when: %w", werr)
		}
		st.Skip = !ok
	}
	st.Run, st.Backout = r(ps.Run), r(ps.Backout)
	if u := ps.Upload; u != nil {
		mode := "0644"
		if u.Mode.Set {
			mode = "0" + strconv.FormatUint(uint64(u.Mode.Mode), 8)
		}
		st.Upload = &Upload{Artifact: u.Artifact, Src: r(u.Src), To: r(u.To), Mode: mode}
		if err == nil {
			err = values.NoControl("upload.to", st.Upload.To)
		}
	}
	if len(ps.Env) > 0 {
		st.Env = map[string]string{}
		for _, v := range ps.Env {
			st.Env[v.Name] = r(v.Value)
		}
	}
	return st, err
}

func renderCheck(pc *plan.Check, scope *plan.Scope) (*Check, error) {
	c := &Check{Name: pc.Name, Timeout: pc.Timeout.Or(DefaultCheckTimeout), Interval: pc.Interval.Or(DefaultCheckInterval), On: pc.On.Names(), Local: pc.Local}
	var err error
	r := func(s string) string {
		if err != nil {
			return ""
		}
		var out string
		out, err = plan.Render(s, scope)
		return out
	}
	switch {
	case pc.Run != "":
		c.Kind, c.Run = "run", r(pc.Run)
	case pc.HTTP != nil:
		c.Kind, c.URL, c.Contains, c.Status = "http", r(pc.HTTP.URL), r(pc.HTTP.Contains), pc.HTTP.Status
		if c.Status == 0 {
			c.Status = 200
		}
	case pc.TCP != nil:
		c.Kind, c.Address = "tcp", r(pc.TCP.Address)
	case pc.Confirm != nil:
		c.Kind, c.Approvals, c.Timeout = "confirm", pc.Confirm.Approvals, pc.Confirm.Timeout.Or(30*time.Minute)
	}
	if c.Name == "" {
		c.Name = c.Kind
	}
	return c, err
}

// baseScope is the scope shared by every host: release, run, env,
// secrets, and the plan's vars rendered in order.
func baseScope(in Input) (*plan.Scope, error) {
	s := &plan.Scope{
		Release: map[string]any{"version": in.Release, "previous": in.Previous},
		Env:     in.Env, Secrets: in.Secrets,
		Run:  map[string]any{"id": in.RunID},
		Vars: map[string]string{},
	}
	raw := map[string]string{}
	for _, v := range in.Plan.Vars {
		raw[v.Name] = v.Value
		if v.Overridden {
			s.Vars[v.Name] = v.Value // set at run time: a value, never an expression
		}
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := resolveVar(name, raw, s, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resolveVar renders var name, rendering the vars it uses first.
func resolveVar(name string, raw map[string]string, s *plan.Scope, visiting map[string]bool) (string, error) {
	if v, ok := s.Vars[name]; ok {
		return v, nil
	}
	if visiting[name] {
		return "", fmt.Errorf("var %q refers to itself", name)
	}
	visiting[name] = true
	for _, dep := range plan.VarRefs(raw[name]) {
		if _, known := raw[dep]; !known {
			continue // reported by validate
		}
		if _, err := resolveVar(dep, raw, s, visiting); err != nil {
			return "", err
		}
	}
	v, err := plan.Render(raw[name], s)
	if err != nil {
		return "", fmt.Errorf("var %q: %w", name, err)
	}
	s.Vars[name] = v
	return v, nil
}

// ForDisplay returns in with every secret's value replaced by
// redact.Mask. The rollout built from it is the one golive shows (plan,
// plan --json): secrets are hidden as values, before any rendering,
// quoting or JSON encoding could change how they look. Only the rollout
// built from the real values is ever executed.
func (in Input) ForDisplay() Input {
	masked := make(map[string]string, len(in.Secrets))
	for k := range in.Secrets {
		masked[k] = redact.Mask
	}
	in.Secrets = masked
	return in
}
