package plan

// Version is the only plan format this golive reads.
const Version = 1

// Meta records where a mapping and its keys and values were found. Every
// struct decoded from a YAML mapping embeds it.
type Meta struct {
	Pos  Pos
	keys map[string]Pos
	vals map[string]Pos
	bad  map[string]bool
}

// Bad reports whether the value of key k could not be decoded (the
// problem is already reported; validation does not pile on).
func (m *Meta) Bad(k string) bool { return m.bad[k] }

func (m *Meta) markBad(k string) {
	if m.bad == nil {
		m.bad = map[string]bool{}
	}
	m.bad[k] = true
}

// KeyPos returns the position of key k in the mapping, or the mapping's own
// position when k was not given.
func (m *Meta) KeyPos(k string) Pos {
	if p, ok := m.keys[k]; ok {
		return p
	}
	return m.Pos
}

// ValPos returns the position of the value of key k, or the mapping's own
// position when k was not given.
func (m *Meta) ValPos(k string) Pos {
	if p, ok := m.vals[k]; ok {
		return p
	}
	return m.Pos
}

// Has reports whether key k was present in the mapping.
func (m *Meta) Has(k string) bool {
	_, ok := m.keys[k]
	return ok
}

func (m *Meta) meta() *Meta { return m }

func (m *Meta) record(k string, kp, vp Pos) {
	if m.keys == nil {
		m.keys = map[string]Pos{}
		m.vals = map[string]Pos{}
	}
	m.keys[k] = kp
	m.vals[k] = vp
}

// Plan is a deployment plan, format 1.
type Plan struct {
	Meta            `yaml:"-"`
	Golive          int          `yaml:"golive" doc:"format version; must be 1" required:"true"`
	Name            string       `yaml:"name" doc:"plan name; runs, locks and history are keyed by name and environment" required:"true"`
	Description     string       `yaml:"description" doc:"what the plan deploys"`
	Owner           string       `yaml:"owner" doc:"the team that owns the service"`
	Contacts        []string     `yaml:"contacts" doc:"escalation contacts, shown in reports and notifications"`
	SuccessCriteria string       `yaml:"success_criteria" doc:"how the deployment engineer knows the release worked"`
	Vars            Vars         `yaml:"vars" doc:"named values, usable as ${{ vars.NAME }}; a value may use expressions; {value, settable} declares who may set it at run time"`
	Release         Release      `yaml:"release" doc:"the release's artifacts"`
	Targets         Targets      `yaml:"targets" doc:"the hosts the plan acts on"`
	Environments    Environments `yaml:"environments" doc:"per-environment overrides of this plan's keys; when present, --env is required"`
	Window          *Window      `yaml:"window" doc:"the release window; no window means always open"`
	Controls        Controls     `yaml:"controls" doc:"release controls: all must hold for a go"`
	Preflight       []Check      `yaml:"preflight" doc:"checks that must pass on their targets before anything changes"`
	Stages          []Stage      `yaml:"stages" doc:"the ordered parts of the rollout" required:"true"`
	Monitors        []Monitor    `yaml:"monitors" doc:"fleet-wide signals watched from the first step to the end of verification"`
	Verify          []Check      `yaml:"verify" doc:"success criteria checked after the last stage"`
	Backout         Backout      `yaml:"backout" doc:"what happens when the run fails"`
	Notify          []Notify     `yaml:"notify" doc:"release communications"`

	// InventoryHosts are the hosts read from targets.inventory files; the
	// load package fills them in.
	InventoryHosts Hosts `yaml:"-"`
	// File is the plan's file name as given.
	File string `yaml:"-"`
	// Env is the environment applied, if any.
	Env string `yaml:"-"`

	exprs   []exprSite         // every expression written, where (exprcheck.go)
	exprAt  map[Pos][]exprSite // exprs by the position of their scalar, built on use
	aliases map[Pos]Pos        // an alias's position -> its anchored node's
}

// Vars is the plan's named values in file order.
type Vars []Var

// Var is one named value.
type Var struct {
	Name  string
	Value string
	Pos   Pos // of the value
	// Settable is the var's settable: pattern ("" when not declared):
	// who may set it over the network, and what it may be set to.
	Settable    string
	SettablePos Pos
	// Overridden is true when Value was set at run time (--set, the API):
	// it is then used as it is, never evaluated as an expression.
	Overridden bool
}

// Get returns the value of the var named name.
func (vs Vars) Get(name string) (string, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// Release describes the artifacts of a release.
type Release struct {
	Meta      `yaml:"-"`
	Artifacts Artifacts `yaml:"artifacts" doc:"named files that steps upload; each is checked against its sha256 before any host sees it"`
}

// Artifacts is the named artifacts in file order.
type Artifacts []*Artifact

// Get returns the artifact named name, or nil.
func (as Artifacts) Get(name string) *Artifact {
	for _, a := range as {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Artifact is one file of a release.
type Artifact struct {
	Meta       `yaml:"-"`
	Name       string `yaml:"-"`
	Path       string `yaml:"path" doc:"file on the controller, relative to the plan"`
	URL        string `yaml:"url" doc:"address the artifact is fetched from (once, into a local cache)"`
	SHA256     string `yaml:"sha256" doc:"expected sha256 of the file, 64 hex digits"`
	SHA256File string `yaml:"sha256_file" doc:"a file in sha256sum format; the line for the artifact's file name is used"`
}

// Connection holds how a target is reached; used by targets.defaults and
// each host.
type Connection struct {
	Transport    string `yaml:"transport" doc:"ssh or local" enum:"ssh,local"`
	User         string `yaml:"user" doc:"ssh user"`
	Port         int    `yaml:"port" doc:"ssh port" min:"1" max:"65535"`
	IdentityFile string `yaml:"identity_file" doc:"private key file for ssh"`
	KnownHosts   string `yaml:"known_hosts" doc:"known_hosts file used to verify host keys"`
	Jump         string `yaml:"jump" doc:"a jump host, like ssh's ProxyJump: [user@]host[:port]"`
	Dir          string `yaml:"dir" doc:"working directory of the target's commands; for local targets the directory that stands for the host (relative to the plan)"`
}

// Targets holds the plan's hosts.
type Targets struct {
	Meta      `yaml:"-"`
	Defaults  Defaults  `yaml:"defaults" doc:"connection settings every host starts from"`
	Inventory Inventory `yaml:"inventory" doc:"Ansible-style inventory files (INI or YAML), relative to the plan; groups become roles"`
	Hosts     Hosts     `yaml:"hosts" doc:"hosts by name"`
	Current   *Current  `yaml:"current" doc:"a probe that prints the release a host runs now; the review compares it with the release recorded live there (drift)"`
}

// Defaults are the connection settings every host starts from.
type Defaults struct {
	Meta       `yaml:"-"`
	Connection `yaml:",inline"`
}

// Inventory names inventory files: a string or a list in YAML.
type Inventory []Ref

// Hosts is the plan's hosts in file order.
type Hosts []*Host

// Host is one target.
type Host struct {
	Meta       `yaml:"-"`
	Name       string    `yaml:"-"`
	Address    string    `yaml:"address" doc:"network address (name or IP); required for ssh"`
	Roles      []string  `yaml:"roles" doc:"roles the host plays; on: selects by role"`
	Vars       StringMap `yaml:"vars" doc:"host values, usable as ${{ host.vars.NAME }}"`
	Connection `yaml:",inline"`
	// FromInventory names the inventory file the host came from, if any.
	FromInventory string `yaml:"-"`
}

// StringMap is a map of strings that keeps file order.
type StringMap []Var

// Map returns the values as a Go map.
func (m StringMap) Map() map[string]string {
	out := make(map[string]string, len(m))
	for _, v := range m {
		out[v.Name] = v.Value
	}
	return out
}

// Environments are the per-environment overlays, kept as YAML nodes until an
// environment is chosen.
type Environments []*Environment

// Environment is one environment's overrides.
type Environment struct {
	Name string
	Pos  Pos
	node any // *yaml.Node, the overlay
}

// Names returns the environment names in file order.
func (es Environments) Names() []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// Days lists weekdays by name.
type Days []Ref

// Window is the release window.
type Window struct {
	Meta     `yaml:"-"`
	Timezone string       `yaml:"timezone" doc:"IANA time zone of the window's times, e.g. Europe/Berlin; default UTC"`
	Open     []OpenRange  `yaml:"open" doc:"weekly ranges when work may start; none means always open"`
	Freeze   []FreezeSpec `yaml:"freeze" doc:"periods when no release may start; they win over open ranges"`
	OnClose  string       `yaml:"on_close" doc:"what happens when the window closes mid-run: backout, pause or finish (default backout)" enum:"backout,pause,finish"`
}

// OpenRange is one weekly open range.
type OpenRange struct {
	Meta `yaml:"-"`
	Days Days   `yaml:"days" doc:"mon..sun; empty means every day"`
	From string `yaml:"from" doc:"opening time HH:MM" required:"true" pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$"`
	To   string `yaml:"to" doc:"closing time HH:MM; earlier than from means the range crosses midnight" required:"true" pattern:"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"`
}

// FreezeSpec is one freeze period.
type FreezeSpec struct {
	Meta   `yaml:"-"`
	From   string `yaml:"from" doc:"start, YYYY-MM-DDTHH:MM in the window's time zone" required:"true"`
	To     string `yaml:"to" doc:"end (exclusive), YYYY-MM-DDTHH:MM" required:"true"`
	Reason string `yaml:"reason" doc:"why, shown in every no-go"`
}

// Controls are the release controls.
type Controls struct {
	Meta        `yaml:"-"`
	Ticket      *Ticket    `yaml:"ticket" doc:"the change ticket (--ticket)"`
	Approvals   *Approvals `yaml:"approvals" doc:"who must approve a run before it changes anything"`
	Integrity   string     `yaml:"integrity" doc:"required: every artifact has a verified sha256" enum:"required,optional"`
	Backout     string     `yaml:"backout" doc:"required: every step that changes a target declares a backout" enum:"required,optional"`
	RehearsedIn string     `yaml:"rehearsed_in" doc:"environment where this release must have been rehearsed (released and backed out cleanly) first"`
	Checklist   string     `yaml:"checklist" doc:"the review's plan-quality checklist (owner, contacts, success criteria and verify, backouts, rehearsal, approvers, window): warn (default) shows what is missing; required makes each missing item a no-go" enum:"warn,required"`
	// Takeover: what another golive serve does with a run whose executing
	// server stopped renewing its lease (PostgreSQL store). Empty means
	// TakeoverResume.
	Takeover string    `yaml:"takeover" doc:"what another golive serve does with a run whose executor stopped renewing its lease: resume (default), backout or pause" enum:"resume,backout,pause"`
	Override *Override `yaml:"override" doc:"break-glass: who may approve a release outside the window or during a freeze (golive run --override-window --reason TEXT)"`
}

// Takeover modes (controls.takeover).
const (
	TakeoverResume  = "resume"
	TakeoverBackout = "backout"
	TakeoverPause   = "pause"
)

// TakeoverMode returns controls.takeover, TakeoverResume when it is not
// given.
func (c *Controls) TakeoverMode() string {
	if c == nil || c.Takeover == "" {
		return TakeoverResume
	}
	return c.Takeover
}

// Override is the break-glass control: a run started with
// --override-window ignores the release window and freezes, only after
// one approval from Approvers by someone other than the requester.
type Override struct {
	Meta      `yaml:"-"`
	Approvers []string `yaml:"approvers" doc:"who may approve a break-glass release (one approval, never the requester's own)"`
}

// Ticket is the change-ticket control.
type Ticket struct {
	Meta     `yaml:"-"`
	Required bool   `yaml:"required" doc:"a ticket must be given"`
	Pattern  string `yaml:"pattern" doc:"regular expression the ticket must match"`
}

// Approvals is the approvals control.
type Approvals struct {
	Meta      `yaml:"-"`
	Required  int      `yaml:"required" doc:"number of distinct approvals needed" min:"0"`
	Approvers []string `yaml:"approvers" doc:"who may approve; empty means anyone"`
	AllowSelf *bool    `yaml:"allow_self" doc:"whether the requester may approve their own run (default true); compared by name and by OS user"`
	// Authenticated: only approvals made through golive serve with an API
	// token count; names claimed at the CLI (--as) are recorded but do not.
	Authenticated bool `yaml:"authenticated" doc:"only approvals made through golive serve with an API token count; CLI approvals are recorded but do not count"`
}

// Check is a preflight, health or verify check.
type Check struct {
	Meta     `yaml:"-"`
	Name     string     `yaml:"name" doc:"what the check shows"`
	Run      string     `yaml:"run" doc:"script run with sh -c; exit 0 passes"`
	HTTP     *HTTPCheck `yaml:"http" doc:"an HTTP request that must answer as expected"`
	TCP      *TCPCheck  `yaml:"tcp" doc:"a TCP address that must accept a connection"`
	Confirm  *Confirm   `yaml:"confirm" doc:"verify only: a human sign-off (golive approve / reject)"`
	Package  *Package   `yaml:"package" doc:"preflight only: a package that must be installed (dpkg or rpm), optionally in a version range"`
	Command  *Command   `yaml:"command" doc:"preflight only: a program that must be on PATH, optionally in a version range"`
	Service  *Service   `yaml:"service" doc:"preflight only: a service that must be running or stopped (systemd, else a process check)"`
	Port     *Port      `yaml:"port" doc:"preflight only: a TCP port that must be free or listening"`
	Disk     *Disk      `yaml:"disk" doc:"preflight only: free space a path's filesystem must have"`
	Memory   *Memory    `yaml:"memory" doc:"preflight only: memory the target must have available"`
	User     string     `yaml:"user" doc:"preflight only: a user that must exist"`
	File     *File      `yaml:"file" doc:"preflight only: a file that must exist (or not), with a mode, owner or sha256"`
	Timeout  Duration   `yaml:"timeout" doc:"how long the check may take to pass (default 30s; health: how long the host may take to become healthy)"`
	Interval Duration   `yaml:"interval" doc:"time between attempts until the timeout (default 1s)"`
	On       On         `yaml:"on" doc:"role(s), host(s), all or local; preflight and verify only (health runs on the stage's hosts)"`
	Local    bool       `yaml:"local" doc:"run on the controller, not on a target"`
}

// HTTPCheck is an HTTP probe.
type HTTPCheck struct {
	Meta     `yaml:"-"`
	URL      string `yaml:"url" doc:"the address to GET" required:"true"`
	Status   int    `yaml:"status" doc:"expected status code (default 200)" min:"100" max:"599"`
	Contains string `yaml:"contains" doc:"text the body must contain"`
}

// TCPCheck is a TCP probe.
type TCPCheck struct {
	Meta    `yaml:"-"`
	Address string `yaml:"address" doc:"host:port that must accept a connection" required:"true"`
}

// Confirm is a human sign-off after verification.
type Confirm struct {
	Meta      `yaml:"-"`
	Approvals int      `yaml:"approvals" doc:"approvals needed to accept the release" min:"1"`
	Timeout   Duration `yaml:"timeout" doc:"how long to wait before backing out (default 30m)"`
}

// Stage is an ordered part of the rollout.
type Stage struct {
	Meta     `yaml:"-"`
	Name     string   `yaml:"name" doc:"unique stage name" required:"true"`
	On       On       `yaml:"on" doc:"role(s), host(s) or all" required:"true"`
	Gate     *Gate    `yaml:"gate" doc:"a manual judgement before the stage starts"`
	Strategy Strategy `yaml:"strategy" doc:"how the stage's hosts are batched and how many may fail"`
	Steps    []Step   `yaml:"steps" doc:"what is done on each host, in order" required:"true"`
	Health   []Check  `yaml:"health" doc:"per host, after its steps; the host is done only when all pass"`
}

// Gate pauses the run before a stage.
type Gate struct {
	Meta      `yaml:"-"`
	Approvals int `yaml:"approvals" doc:"approvals needed to start the stage" min:"1"`
}

// Strategy is how a stage is batched.
type Strategy struct {
	Meta      `yaml:"-"`
	Canary    *Count   `yaml:"canary" doc:"size of the first batch"`
	Batch     *Size    `yaml:"batch" doc:"size of the following batches: a number or a percentage of the stage's hosts (default: all at once)"`
	MaxFailed *Size    `yaml:"max_failed" doc:"hosts that may fail in this stage before the run fails: a number or a percentage (default 0)"`
	Pause     Duration `yaml:"pause" doc:"bake time after each batch"`
}

// Step is one action on a host.
type Step struct {
	Meta    `yaml:"-"`
	Name    string    `yaml:"name" doc:"unique in its stage; required, except on uses: (its steps are named NAME/part, NAME defaulting to the recipe) and include:"`
	Run     string    `yaml:"run" doc:"script run with sh -c on the target (or on the controller with local: true)"`
	Upload  *Upload   `yaml:"upload" doc:"copy an artifact or a file to the target"`
	Backout string    `yaml:"backout" doc:"script that undoes this step"`
	Timeout Duration  `yaml:"timeout" doc:"how long the step may run before it is killed (default 10m)"`
	Retries int       `yaml:"retries" doc:"extra attempts after a failure (default 0)" min:"0"`
	When    string    `yaml:"when" doc:"expression; false skips the step"`
	Env     StringMap `yaml:"env" doc:"environment variables for the script"`
	Local   bool      `yaml:"local" doc:"run on the controller instead of the target"`
	Prepare bool      `yaml:"prepare" doc:"run ahead: for the next batch while the current one switches and is health-checked (upload, unpack: nothing that serves traffic); prepare steps come first"`
	Uses    string    `yaml:"uses" doc:"a recipe (release-dir or systemd) that golive expands into ordinary steps with their backouts; golive plan shows them"`
	With    Params    `yaml:"with" doc:"the recipe's parameters"`
	Include string    `yaml:"include" doc:"a file holding a list of steps, relative to the file that names it; the item stands for those steps"`

	// File is the file the step was written in when it is not the plan
	// (an included step file); recipes.go fills it in.
	File string `yaml:"-"`
	// SHA256Of names the artifact whose verified sha256 the step's script
	// gets as $GOLIVE_ARTIFACT_SHA256 (release-dir's verify step).
	SHA256Of string `yaml:"-"`
}

// ChangesTarget reports whether the step changes its target (and so needs
// a backout).
func (s *Step) ChangesTarget() bool { return !s.Local }

// Upload copies a file to a target.
type Upload struct {
	Meta     `yaml:"-"`
	Artifact string   `yaml:"artifact" doc:"name of a release artifact"`
	Src      string   `yaml:"src" doc:"a file on the controller, relative to the plan"`
	To       string   `yaml:"to" doc:"destination path on the target" required:"true"`
	Mode     FileMode `yaml:"mode" doc:"file mode, e.g. \"0644\" (default 0644)"`
}

// Monitor is a fleet-wide signal.
type Monitor struct {
	Meta         `yaml:"-"`
	Name         string      `yaml:"name" doc:"what the monitor watches" required:"true"`
	Prometheus   *Prometheus `yaml:"prometheus" doc:"a Prometheus instant query" required:"true"`
	Condition    string      `yaml:"condition" doc:"expression over result; false counts as a failure (exactly one of condition or compare)"`
	Compare      *Compare    `yaml:"compare" doc:"compare the current batch's hosts with hosts not yet released instead of a condition"`
	Interval     Duration    `yaml:"interval" doc:"time between evaluations (default 10s)"`
	FailureLimit int         `yaml:"failure_limit" doc:"consecutive failures that make the run fail (default 1)" min:"1"`
	// InconclusiveLimit: see compare.go.
	InconclusiveLimit int `yaml:"inconclusive_limit" doc:"with compare: consecutive inconclusive evaluations (no data, too few samples) after which the run pauses (default 3, or min_samples if more)" min:"1"`
}

// Prometheus is a Prometheus query.
type Prometheus struct {
	Meta  `yaml:"-"`
	URL   string `yaml:"url" doc:"Prometheus server address" required:"true"`
	Query string `yaml:"query" doc:"PromQL instant query returning one number" required:"true"`
}

// Backout says what happens when a run fails.
type Backout struct {
	Meta      `yaml:"-"`
	Automatic *bool `yaml:"automatic" doc:"back out at once when the run fails (default true); false stops and waits for golive backout or golive resume --accept"`
	Verify    *bool `yaml:"verify" doc:"after backing out a host, run its stage's health checks for the previous release and count it backed out only when they pass (default true); false trusts the backout scripts' exit status"`
}

// IsAutomatic reports whether backout starts by itself.
func (b Backout) IsAutomatic() bool { return b.Automatic == nil || *b.Automatic }

// IsVerified reports whether a backed-out host's previous release is
// checked healthy before the host counts as backed out.
func (b Backout) IsVerified() bool { return b.Verify == nil || *b.Verify }

// Notify is one release communication.
type Notify struct {
	Meta    `yaml:"-"`
	Name    string   `yaml:"name" doc:"name of the channel"`
	Webhook string   `yaml:"webhook" doc:"address that receives a JSON POST per event" required:"true"`
	On      []string `yaml:"on" doc:"events: go, no_go, waiting, started, succeeded, failed, backed_out, needs_attention, aborted (default all)"`
	Format  string   `yaml:"format" doc:"the body: json (default: golive's event JSON), slack (an incoming-webhook message) or teams (an Adaptive Card message)" enum:"json,slack,teams"`
	// Template is a Go text/template over the fields of NotifyFields;
	// checked when the plan is read (notifytemplate.go).
	Template string `yaml:"template" doc:"the message text, a Go text/template over the event's fields ({{ .Plan }}, {{ .Release }}, {{ .Environment }}, {{ .What }}, {{ .Reason }}, ...; see docs/plan-reference.md); values are escaped for the format; json adds it as message"`
}

// NotifyEvents lists the events notify.on accepts.
var NotifyEvents = []string{"go", "no_go", "waiting", "started", "succeeded", "failed", "backed_out", "needs_attention", "aborted"}
