package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/values"
)

// The release version all carried tests run with: every character a
// version may have.
const goodVersion = "1.0+b~1:2_x-y"

// recordPlanBody is a plan whose scripts write what each input brought
// into out/ of the host's directory, always through shell(). n is the
// number of vars v0.., host vars h0.. and environment variables
// HOSTILE_0..; one step per kind, so that no one rendered script holds
// every 10 KB value.
func recordPlanBody(n int) string {
	var b strings.Builder
	b.WriteString("golive: 1\nname: hostile\nvars:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  v%d: \"\"\n", i)
	}
	b.WriteString(`  color: {value: blue, settable: "^(blue|green)$"}
targets:
  defaults: {transport: local}
  inventory: inventory.yaml
  hosts:
    h1: {dir: hosts/h1}
stages:
  - name: web
    on: web
    steps:
      - name: release
        run: |
          mkdir -p out
          printf %s ${{ shell(release.version) }} > out/release
          printf %s "$GOLIVE_RELEASE" > out/env-release
          printf %s ${{ shell(vars.color) }} > out/color
        backout: rm -rf out
`)
	for _, kind := range []struct{ step, expr string }{
		{"set", "vars.v%d"}, {"env", `env.HOSTILE_%d ?? ""`}, {"host", `host.vars.h%d ?? ""`},
	} {
		fmt.Fprintf(&b, "      - name: %s\n        run: |\n", kind.step)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "          printf %%s ${{ shell(%s) }} > out/%s-%d\n", fmt.Sprintf(kind.expr, i), kind.step, i)
		}
		fmt.Fprintf(&b, "        backout: rm -f out/%s-*\n", kind.step)
	}
	b.WriteString("    health:\n      - {name: ok, run: \"true\"}\n")
	return b.String()
}

// inventoryYAML is a YAML inventory with host h1 in group web, with vars.
func inventoryYAML(vars map[string]string) string {
	var b strings.Builder
	b.WriteString("web:\n  hosts:\n    h1:\n")
	if len(vars) == 0 {
		return strings.TrimSuffix(b.String(), ":\n") + ": {}\n"
	}
	for k, v := range vars {
		fmt.Fprintf(&b, "      %s: %s\n", k, yamlQuote(v))
	}
	return b.String()
}

// yamlQuote writes s as a YAML double-quoted string with every character
// that is not printable ASCII escaped (Go's escapes are YAML's too), so
// the file itself is plain text.
func yamlQuote(s string) string { return strconv.QuoteToASCII(s) }

// TestCarriedInertly gives every hostile value to --set, to environment
// variables read as env.X and to inventory host vars, in one run whose
// scripts quote them with shell(): the run succeeds, each script wrote
// exactly the bytes it was given, and nothing else ran.
func TestCarriedInertly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vals := hostileValues(dir + "/canary")
	envVals := append(append([]value(nil), vals...), nonUTF8) // an environment may hold any bytes
	n := len(envVals)
	hostVars := map[string]string{}
	for i, v := range vals {
		hostVars["h"+strconv.Itoa(i)] = v.v
	}
	w := newWorkspace(t, recordPlanBody(n), map[string]string{"inventory.yaml": inventoryYAML(hostVars)})
	w.canary = dir + "/canary"

	args := []string{"run", "-r", goodVersion, "--ticket", "CHG-1", "--set", "color=green"}
	for i, v := range vals {
		args = append(args, "--set", fmt.Sprintf("v%d=%s", i, v.v))
	}
	var env []string
	for i, v := range envVals {
		env = append(env, fmt.Sprintf("HOSTILE_%d=%s", i, v.v))
	}
	r := w.run(env, args...)
	if r.Code != 0 {
		t.Fatalf("the run did not succeed\n%s", short(r))
	}
	w.noCanary()
	for name, want := range map[string]string{"release": goodVersion, "env-release": goodVersion, "color": "green"} {
		if got := w.readOut("h1", name); got != want {
			t.Errorf("out/%s = %q, want %q", name, got, want)
		}
	}
	for i, v := range envVals {
		if got := w.readOut("h1", fmt.Sprintf("env-%d", i)); got != v.v {
			t.Errorf("env.X %s: the script got %s, want %s", v.name, values.Quote(got), values.Quote(v.v))
		}
		if i >= len(vals) {
			continue
		}
		if got := w.readOut("h1", fmt.Sprintf("set-%d", i)); got != v.v {
			t.Errorf("--set %s: the script got %s, want %s", v.name, values.Quote(got), values.Quote(v.v))
		}
		if got := w.readOut("h1", fmt.Sprintf("host-%d", i)); got != v.v {
			t.Errorf("host var %s: the script got %s, want %s", v.name, values.Quote(got), values.Quote(v.v))
		}
	}
	if len(vals) < 30 {
		t.Errorf("only %d hostile values; the suite wants at least 30", len(vals))
	}
}

// refusal is one input path that must refuse a value.
type refusal struct {
	input string                      // as named in the error
	rule  func(input, s string) error // the rule it applies (nil: only exit 2 and the input)
	args  func(v string) []string     // the command line
	env   func(v string) []string     // extra environment
	skip  func(v string) bool         // values this path cannot carry
	want  func(v string) []string     // extra texts the error must have
}

func refusals() []refusal {
	run := func(extra ...string) []string { return append([]string{"run", "-r", "1.1"}, extra...) }
	return []refusal{
		{input: "--release", rule: values.Version, args: func(v string) []string { return []string{"run", "-r", v} }},
		{input: "--release", rule: values.Version, args: func(v string) []string { return []string{"review", "-r", v} }},
		{input: "--release", rule: values.Version, args: func(v string) []string { return []string{"plan", "-r", v} }},
		{input: "--release", rule: values.Version, args: func(v string) []string { return []string{"rehearse", "-r", v} }},
		{input: "--ticket", rule: values.Ticket, args: func(v string) []string { return run("--ticket", v) }},
		{input: "--ticket", rule: values.Ticket, args: func(v string) []string { return []string{"review", "-r", "1.1", "--ticket", v} }},
		{input: "--as", rule: values.Actor, args: func(v string) []string { return run("--as", v) }},
		{input: "$GOLIVE_USER", rule: values.Actor, args: func(string) []string { return run() },
			env: func(v string) []string { return []string{"GOLIVE_USER=" + v} }, skip: func(v string) bool { return v == "" }},
		{input: "--env", rule: values.Name, args: func(v string) []string { return run("--env", v) }},
		{input: "--set", args: func(v string) []string { return run("--set", "color="+v) },
			want: func(v string) []string {
				if !strings.Contains(v, "\xff") {
					return []string{`var color`, `does not match the var's settable pattern ^(blue|green)$`}
				}
				return []string{`--set color`, `character \xff at position 4`}
			}},
	}
}

// TestRefused gives every hostile value to every input that has a rule:
// each is refused with exit 2, the error names the input and the offending
// character and is safe on a terminal, nothing is recorded, and nothing
// ran. Values a rule allows (a ticket may be "../x") are carried instead.
func TestRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := newWorkspace(t, recordPlanBody(0), map[string]string{"inventory.yaml": inventoryYAML(nil)})
	w.canary = dir + "/canary"
	w.mustExit(0, nil, "run", "-r", "1.0")
	before := len(w.runs())
	vals := append(hostileValues(w.canary), nonUTF8)
	var accepted []string
	for _, rf := range refusals() {
		for _, v := range vals {
			if rf.skip != nil && rf.skip(v.v) {
				continue
			}
			var want []string
			if rf.rule != nil {
				err := rf.rule(rf.input, v.v)
				if err == nil {
					accepted = append(accepted, rf.input+" "+values.Quote(v.v))
					continue
				}
				want = append(want, err.Error())
			} else {
				want = append(want, rf.input)
			}
			if rf.want != nil {
				want = append(want, rf.want(v.v)...)
			}
			var env []string
			if rf.env != nil {
				env = rf.env(v.v)
			}
			r := w.run(env, rf.args(v.v)...)
			if r.Code != 2 {
				t.Errorf("%s %s (%s): exit %d, want 2\n%s", rf.args(v.v)[0], rf.input, v.name, r.Code, short(r))
				continue
			}
			for _, s := range want {
				if !strings.Contains(r.Stderr, s) {
					t.Errorf("%s %s (%s): the error does not say %q\n%s", rf.args(v.v)[0], rf.input, v.name, s, short(r))
				}
			}
			if !controlFree(r.Stdout + r.Stderr) {
				t.Errorf("%s %s (%s): golive printed control characters: %q", rf.args(v.v)[0], rf.input, v.name, r.Stderr)
			}
		}
	}
	w.noCanary()
	if after := len(w.runs()); after != before {
		t.Errorf("refused runs were recorded: history has %d runs, had %d", after, before)
	}
	t.Logf("allowed by their rule (and carried by TestTicketsCarried): %s", strings.Join(accepted, ", "))
}

// TestTicketsCarried: tickets that the ticket rule allows although they
// look hostile (a path, a leading '-') are recorded as they are.
func TestTicketsCarried(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, recordPlanBody(0), map[string]string{"inventory.yaml": inventoryYAML(nil)})
	for _, ticket := range []string{"../../../etc/passwd", "-rf", "--help", "#1", "a/b:c.d_e"} {
		w.mustExit(0, nil, "run", "-r", "1.0", "--ticket="+ticket)
		r := w.mustExit(0, nil, "status", "last", "--json")
		var st map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, r.Stdout)
		}
		if st["ticket"] != ticket {
			t.Errorf("ticket recorded as %q, want %q", st["ticket"], ticket)
		}
	}
}

const gatedPlan = `golive: 1
name: gated
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web]}
controls:
  approvals: {required: 1}
stages:
  - name: web
    on: web
    steps:
      - name: touch
        run: mkdir -p out && touch out/ran
        backout: rm -rf out
    health:
      - {name: ok, run: "true"}
`

// TestReasonsAndComments gives every hostile value as an approval's
// --comment and an abort's --reason: text is carried as it is (status and
// report --json give back the same bytes), text that is not (NUL, not
// UTF-8, more than 4 KiB) is refused with exit 2 and not recorded.
func TestReasonsAndComments(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, gatedPlan, nil)
	vals := append(hostileValues(w.canary), nonUTF8)
	// One OS user counts once among a run's approvers, so each comment is
	// given on a run of its own.
	for _, v := range vals {
		w.mustExit(3, nil, "run", "-r", "1.0")
		r := w.run(nil, "approve", "last", "--as", "approver", "--comment="+v.v)
		if err := values.Text("--comment", v.v, values.MaxText); err != nil {
			if r.Code != 2 || !strings.Contains(r.Stderr, err.Error()) || !controlFree(r.Stderr) {
				t.Errorf("--comment %s: exit %d, want 2 with %q\n%s", v.name, r.Code, err, short(r))
			}
			w.mustExit(0, nil, "abort", "last", "--force", "--reason", "clean up")
			continue
		}
		if r.Code != 0 {
			t.Errorf("--comment %s: exit %d\n%s", v.name, r.Code, short(r))
			w.mustExit(0, nil, "abort", "last", "--force", "--reason", "clean up")
			continue
		}
		rep := w.mustExit(0, nil, "report", "last", "--json")
		var got struct {
			Approvals []struct{ Comment string } `json:"approvals"`
		}
		if err := json.Unmarshal([]byte(rep.Stdout), &got); err != nil {
			t.Fatalf("report --json: %v", err)
		}
		if len(got.Approvals) != 1 || got.Approvals[0].Comment != v.v {
			t.Errorf("comment %s recorded as %+v", values.Quote(v.v), got.Approvals)
		}
		w.mustExit(0, nil, "abort", "last", "--force", "--reason", "clean up")
	}

	var reasons []string
	for _, v := range vals {
		w.mustExit(3, nil, "run", "-r", "1.0")
		r := w.run(nil, "abort", "last", "--force", "--reason="+v.v)
		if err := values.Text("--reason", v.v, values.MaxText); err != nil || v.v == "" {
			if v.v == "" {
				err = fmt.Errorf("--reason")
			}
			if r.Code != 2 || !strings.Contains(r.Stderr, err.Error()) || !controlFree(r.Stderr) {
				t.Errorf("--reason %s: exit %d, want 2 with %q\n%s", v.name, r.Code, err, short(r))
			}
			w.mustExit(0, nil, "abort", "last", "--force", "--reason", "clean up")
			continue
		}
		if r.Code != 0 {
			t.Errorf("--reason %s: exit %d\n%s", v.name, r.Code, short(r))
			continue
		}
		reasons = append(reasons, v.v)
	}
	var got []string
	for _, run := range w.runs() {
		reason, _ := run["reason"].(string)
		got = append(got, reason)
	}
	for _, want := range reasons {
		found := false
		for _, g := range got {
			found = found || (strings.HasPrefix(g, "force-aborted by tester") && strings.HasSuffix(g, ": "+want+" (targets were not touched by this)"))
		}
		if !found {
			t.Errorf("reason %s was not recorded as it was given", values.Quote(want))
		}
	}
	w.noCanary()
}

// TestInventoryNames: an inventory whose host or group names, addresses or
// vars break the plan's rules is refused with exit 2 at FILE:LINE before
// anything runs.
func TestInventoryNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	canary := dir + "/canary"
	plan := `golive: 1
name: inv
targets:
  defaults: {transport: local, dir: hosts/any}
  inventory: INVENTORY
stages:
  - name: web
    on: web
    steps:
      - name: hello
        run: echo ${{ host.name }} ${{ host.address }} > out
        backout: rm -f out
    health:
      - {name: ok, run: "true"}
`
	type inv struct {
		name, file, text, want string
	}
	cases := []inv{
		{"issue 8 host name", "inventory.ini", "[web]\nweb0\nweb1$(touch${IFS}" + canary + ")\n", "inventory.ini:3:1: invalid host name \"web1$(touch${IFS}" + canary + ")\""},
		{"backticks host name", "inventory.ini", "[web]\nweb1`touch${IFS}" + canary + "`\n", "inventory.ini:2:1: invalid host name"},
		{"group name", "inventory.ini", "[web$(touch${IFS}" + canary + ")]\nweb1\n", "inventory.ini:1:2: invalid group name"},
		{"address", "inventory.ini", "[web]\nweb1 ansible_host=a$(touch${IFS}" + canary + ")\n", "inventory.ini:2:6: ansible_host"},
		{"not UTF-8", "inventory.ini", "[web]\nweb1 x=\xff\n", "inventory.ini:2:1: invalid UTF-8"},
		{"NUL", "inventory.ini", "[web]\nweb1 x=a\x00b\n", "inventory.ini:2:1: invalid control character U+0000"},
		{"escape", "inventory.ini", "[web]\nweb1\x1b[2J\n", "inventory.ini:2:1: invalid control character U+001B"},
		{"NUL in a YAML var", "inventory.yaml", "web:\n  hosts:\n    web1: {x: \"a\\0b\"}\n", `inventory.yaml:3:15: var x "a\x00b": character \x00 at position 2`},
	}
	for _, v := range hostileValues(canary) {
		if v.v == "" || values.IsName(v.v) {
			continue
		}
		// An explicit key: a 10 KB name is not a YAML implicit key.
		cases = append(cases, inv{"YAML host name " + v.name, "inventory.yaml", fmt.Sprintf("web:\n  hosts:\n    ? %s\n    : {}\n", yamlQuote(v.v)), "inventory.yaml:3:7: "})
	}
	for _, c := range cases {
		w := newWorkspace(t, strings.Replace(plan, "INVENTORY", c.file, 1), map[string]string{c.file: c.text})
		w.canary = canary
		r := w.run(nil, "run", "-r", "1.0")
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%s: exit %d, want 2 with %q\n%s", c.name, r.Code, c.want, short(r))
		}
		if !controlFree(r.Stderr) {
			t.Errorf("%s: golive printed control characters: %q", c.name, r.Stderr)
		}
		w.noCanary()
	}
}

// TestValidateWarns: golive validate warns, exit 0, where an environment
// variable or an inventory var reaches a script unquoted.
func TestValidateWarns(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, `golive: 1
name: warn
targets:
  defaults: {transport: local}
  inventory: inventory.yaml
  hosts:
    h1: {dir: hosts/h1}
stages:
  - name: web
    on: web
    steps:
      - name: hello
        run: echo ${{ env.GREETING }} ${{ host.vars.note }} ${{ shell(env.SAFE) }}
        backout: "true"
    health:
      - {name: ok, run: "true"}
`, map[string]string{"inventory.yaml": inventoryYAML(map[string]string{"note": "$(id)"})})
	r := w.validate()
	for _, want := range []string{
		`golive.yaml:13:14: warning: step "hello" run: env.GREETING reaches the script outside shell()`,
		`golive.yaml:13:14: warning: step "hello" run: host.vars.note reaches the script outside shell(), and host vars may come from an inventory file`,
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("validate does not warn %q\n%s", want, short(r))
		}
	}
	if strings.Contains(r.Stderr, "env.SAFE reaches") {
		t.Errorf("validate warns about a value quoted with shell()\n%s", short(r))
	}
}

// TestTamperedPreviousRelease: a previous release read from the store
// (written there by hand, or by an older golive) reaches scripts as
// release.previous and GOLIVE_PREVIOUS; one that breaks the version rule
// stops the run with exit 2 before anything runs.
func TestTamperedPreviousRelease(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, `golive: 1
name: tamper
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - name: s
        run: mkdir -p out && echo "${{ release.previous }}" > out/previous
        backout: echo "${{ release.previous }}"
    health:
      - {name: ok, run: "true"}
`, nil)
	w.mustExit(0, nil, "run", "-r", "1.0")
	runID, _ := w.runs()[0]["id"].(string)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, w.cli.Store)
	if err != nil {
		t.Fatal(err)
	}
	bad := `1.0"; touch ` + w.canary + `; echo "`
	if err := st.SetLive(ctx, "tamper", "", "h1", bad, runID); err != nil {
		t.Fatal(err)
	}
	st.Close()
	before := len(w.runs())
	for _, cmd := range [][]string{{"run", "-r", "2.0"}, {"plan", "-r", "2.0"}, {"review", "-r", "2.0"}} {
		r := w.run(nil, cmd...)
		want := `previous release "1.0\"; touch `
		if r.Code != 2 || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "the store records it as live") {
			t.Errorf("%s: exit %d, want 2 naming the recorded previous release\n%s", cmd[0], r.Code, short(r))
		}
	}
	w.noCanary()
	if after := len(w.runs()); after != before {
		t.Errorf("a run was recorded: %d runs, had %d", after, before)
	}
}
