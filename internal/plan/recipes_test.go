package plan

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// expandString decodes a plan, expands its steps (step files from files,
// by name relative to the plan's directory) and validates it.
func expandString(t *testing.T, text string, files map[string]string) (*Plan, Diags) {
	t.Helper()
	doc, diags := ReadDocument("p.yaml", []byte(text))
	if diags != nil {
		t.Fatalf("read: %v", diags)
	}
	p, diags := doc.Decode("")
	if p == nil {
		return nil, diags
	}
	p.File = "p.yaml"
	read := func(from, path string) (string, []byte, error) {
		name := filepath.Join(filepath.Dir(from), path)
		data, ok := files[name]
		if !ok {
			return name, nil, errors.New("no such file")
		}
		return name, []byte(data), nil
	}
	diags = append(diags, ExpandSteps(p, read)...)
	return p, append(diags, Validate(p)...).Sorted()
}

const recipePlan = `golive: 1
name: demo
vars:
  app: /srv/app
release:
  artifacts:
    app: {path: app.tar.gz, sha256: 0000000000000000000000000000000000000000000000000000000000000000}
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web], vars: {port: "1"}}
stages:
  - name: web
    on: all
    steps:
%s
    health:
      - {name: up, run: "true"}
`

func withSteps(steps string) string { return strings.Replace(recipePlan, "%s", steps, 1) }

func TestRecipeExpansion(t *testing.T) {
	p, diags := expandString(t, withSteps(`      - uses: release-dir
        with: {artifact: app, root: "${{ vars.app }}", keep: 3, expect: bin/app}
      - uses: systemd
        name: svc
        with: {unit: app.service, sudo: true, wait: 5s}
        when: host.vars.port == "1"`), nil)
	if diags.HasErrors() {
		t.Fatalf("diags: %v", diags)
	}
	var names []string
	for _, st := range p.Stages[0].Steps {
		names = append(names, st.Name)
		if st.Backout == "" {
			t.Errorf("step %s has no backout", st.Name)
		}
	}
	want := "release-dir/upload release-dir/verify release-dir/unpack release-dir/switch release-dir/cleanup svc/restart"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("steps %q, want %q", got, want)
	}
	steps := p.Stages[0].Steps
	if u := steps[0].Upload; u == nil || u.Artifact != "app" || u.To != "${{ vars.app }}/releases/${{ release.version }}.archive" {
		t.Errorf("upload = %+v", steps[0].Upload)
	}
	if steps[1].SHA256Of != "app" {
		t.Errorf("verify step does not get the artifact's sha256")
	}
	if !strings.Contains(steps[2].Run, "expect='bin/app'") {
		t.Errorf("unpack does not check expect:\n%s", steps[2].Run)
	}
	if !strings.Contains(steps[4].Run, "keep=3") {
		t.Errorf("cleanup does not keep 3:\n%s", steps[4].Run)
	}
	svc := steps[5]
	if svc.When != `host.vars.port == "1"` || svc.Timeout.D().Seconds() != 35 {
		t.Errorf("svc: when %q timeout %s", svc.When, svc.Timeout)
	}
	// The backout points current back at the release-dir's root first.
	if !strings.Contains(svc.Backout, "root=${{ shell(vars.app) }}") || !strings.Contains(svc.Run, "sudo -n systemctl restart -- \"$unit\"") {
		t.Errorf("svc scripts:\n%s\n%s", svc.Run, svc.Backout)
	}
	for _, st := range steps {
		for _, s := range []string{st.Run, st.Backout} {
			if strings.Contains(s, "${{ release.") || strings.Contains(s, "${{ vars.") {
				t.Errorf("step %s has an unquoted expression:\n%s", st.Name, s)
			}
		}
	}
	// Nothing about them is worth a warning: every value is quoted.
	if w := diags.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
}

func TestRecipeErrors(t *testing.T) {
	for _, tc := range []struct{ steps, want string }{
		{"      - uses: release-dir\n        with: {artifact: app, root: /srv, kep: 3}",
			`p.yaml:17:43: release-dir has no parameter "kep" (did you mean "keep"?); its parameters are artifact, root, keep, expect`},
		{"      - uses: release-dir\n        with: {root: /srv}",
			"p.yaml:17:15: release-dir needs parameter artifact (with: {artifact: ...})"},
		{"      - uses: release-dir\n        with: {artifact: nope, root: /srv}",
			`p.yaml:17:26: release-dir: parameter artifact: no artifact "nope": the plan's artifacts are "app"`},
		{"      - uses: release-dir\n        with: {artifact: app, root: /srv, keep: 0}",
			`p.yaml:17:49: parameter keep: "0" is not a whole number of 1 or more`},
		{"      - uses: release-dir\n        with: {artifact: app, root: \"${{ shell(vars.app) }}\"}",
			"p.yaml:17:37: release-dir: parameter root: do not write shell() here: the recipe quotes every parameter itself"},
		{"      - uses: release-dri\n        with: {artifact: app, root: /srv}",
			`p.yaml:16:15: uses: unknown recipe "release-dri": golive has release-dir, systemd (did you mean "release-dir"?)`},
		{"      - uses: systemd\n        with: {unit: app.service}\n        run: echo",
			"p.yaml:18:9: run cannot be given with uses: systemd writes its steps' scripts and backouts (golive plan shows them); write your own steps instead"},
		{"      - uses: systemd\n        with: {unit: -app.service}",
			`p.yaml:17:22: parameter unit: "-app.service" is not a systemd unit name (letters, digits and : _ . \ @ -, not starting with -)`},
		{"      - uses: systemd\n        with: {unit: a.service, action: restrat}",
			`p.yaml:17:41: parameter action: unknown value "restrat": use one of restart, reload, reload-or-restart (did you mean "restart"?)`},
		{"      - uses: systemd\n        with: {unit: a.service, wait: \"${{ vars.app }}\"}",
			"p.yaml:17:39: systemd: parameter wait: expressions are not allowed here (golive needs the value when it loads the plan)"},
		{"      - name: x\n        run: echo\n        backout: echo\n        with: {a: b}",
			"p.yaml:19:9: with: gives a recipe's parameters and belongs to a uses: step"},
		{"      - uses: release-dir\n        with: {artifact: app, root: /a}\n      - uses: release-dir\n        with: {artifact: app, root: /b}",
			"p.yaml:18:9: stage uses release-dir twice: give each a name: (its steps are named NAME/upload, ...; the first is at line 16)"},
	} {
		_, diags := expandString(t, withSteps(tc.steps), nil)
		if !strings.Contains(diags.Errors().Error(), tc.want) {
			t.Errorf("steps:\n%s\ngot:\n%v\nwant: %s", tc.steps, diags.Errors(), tc.want)
		}
	}
}

func TestIncludeErrorsPointIntoTheIncludedFile(t *testing.T) {
	files := map[string]string{
		"steps/a.yaml":     "- name: a\n  run: echo a\n  backout: echo\n- include: b.yaml\n",
		"steps/b.yaml":     "- name: b\n  rn: echo b\n  backout: echo ${{ vars.nope }}\n",
		"steps/loop.yaml":  "- include: loop2.yaml\n",
		"steps/loop2.yaml": "- include: loop.yaml\n",
		"steps/plan.yaml":  "golive: 1\n",
	}
	_, diags := expandString(t, withSteps("      - include: steps/a.yaml"), files)
	got := diags.Errors().Error()
	for _, want := range []string{
		`steps/b.yaml:2:3: unknown key "rn" in step (did you mean "run"?)`,
		`steps/b.yaml:3:12: unknown variable vars.nope`,
		`steps/b.yaml:1:3: step "b" has no action`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, tc := range []struct{ steps, want string }{
		{"      - include: steps/loop.yaml", "steps/loop2.yaml:1:12: include cycle: p.yaml -> steps/loop.yaml -> steps/loop2.yaml -> steps/loop.yaml"},
		{"      - include: steps/none.yaml", "p.yaml:16:18: include steps/none.yaml: no such file"},
		{"      - include: steps/plan.yaml", "steps/plan.yaml:1:1: an included file holds a list of steps (- name: ...), got a mapping (this is a plan: include: takes a file of steps)"},
		{"      - include: steps/a.yaml\n        name: x", "p.yaml:17:9: name: an include: item stands alone"},
		{"      - include: \"${{ vars.app }}.yaml\"", "p.yaml:16:18: include: expressions are not allowed"},
	} {
		_, diags := expandString(t, withSteps(tc.steps), files)
		if !strings.Contains(diags.Errors().Error(), tc.want) {
			t.Errorf("steps:\n%s\ngot:\n%v\nwant: %s", tc.steps, diags.Errors(), tc.want)
		}
	}
}

func TestIncludeDepth(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 12; i++ {
		files[filepath.Join("steps", "d"+string(rune('a'+i))+".yaml")] = "- include: d" + string(rune('a'+i+1)) + ".yaml\n"
	}
	_, diags := expandString(t, withSteps("      - include: steps/da.yaml"), files)
	if !strings.Contains(diags.Errors().Error(), "includes nest more than 8 deep") {
		t.Errorf("got %v", diags)
	}
}

// TestShellWord renders parameters with hostile values and has sh read
// them back: each must arrive as exactly one word, unchanged.
func TestShellWord(t *testing.T) {
	hostile := []string{"", "plain", "a b", "it's", `"; touch pwned; "`, "$(touch pwned)", "`id`", "a\nb", `\'`, "''", "-rf", "*"}
	for _, param := range []string{"${{ vars.x }}", "/srv/${{ vars.x }}/app", "pre'${{ vars.x }}'post", "lit $HOME 'q'"} {
		for _, v := range hostile {
			w := shellWord(param)
			out, err := Render("printf '%s|' "+w, &Scope{Vars: map[string]string{"x": v}})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cmd := exec.Command("sh", "-c", out)
			cmd.Dir = dir
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			want := strings.ReplaceAll(param, "${{ vars.x }}", v) + "|"
			if string(got) != want {
				t.Errorf("param %q value %q: sh read %q, want %q", param, v, got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Errorf("param %q value %q ran code", param, v)
			}
		}
	}
}

// TestRecipeScriptsShellcheck runs shellcheck (POSIX sh) over every
// script the recipes write, rendered with hostile values.
func TestRecipeScriptsShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (scripts/test installs it)")
	}
	p, diags := expandString(t, withSteps(`      - uses: release-dir
        with: {artifact: app, root: "${{ vars.app }}", expect: "bin/${{ vars.app }}"}
      - uses: systemd
        with: {unit: "${{ vars.app }}", sudo: true}
      - uses: systemd
        name: reload
        with: {unit: x.service, action: reload, release_dir: /other}`), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	scope := &Scope{Release: map[string]any{"version": "1.0.0", "previous": "0.9.0"},
		Vars: map[string]string{"app": `/srv/a b'"$(touch x)`}}
	for _, st := range p.Stages[0].Steps {
		for kind, s := range map[string]string{"run": st.Run, "backout": st.Backout} {
			if s == "" {
				continue
			}
			rendered, err := Render(s, scope)
			if err != nil {
				t.Fatal(err)
			}
			// SC2016: the recipes single-quote on purpose: nothing may expand.
			cmd := exec.Command("shellcheck", "-s", "sh", "-e", "SC2016", "-")
			cmd.Stdin = strings.NewReader(rendered)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: shellcheck:\n%s\n%s", st.Name, kind, out, rendered)
			}
		}
	}
}

// TestReleaseDirScriptsRun runs the verify, unpack and switch scripts with
// sh in a directory: verify refuses an archive whose sha256 is not the
// artifact's, unpack checks expect, switch moves current.
func TestReleaseDirScriptsRun(t *testing.T) {
	p, diags := expandString(t, withSteps(`      - uses: release-dir
        with: {artifact: app, root: "${{ vars.app }}", expect: VERSION}`), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "a b")
	scope := &Scope{Release: map[string]any{"version": "1.0", "previous": ""}, Vars: map[string]string{"app": root}}
	steps := p.Stages[0].Steps
	run := func(st Step, env ...string) (string, error) {
		s, err := Render(st.Run, scope)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", s)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(root, "releases"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "VERSION"), []byte("1.0\n"), 0o644)
	archive := filepath.Join(root, "releases", "1.0.archive")
	if out, err := exec.Command("tar", "-czf", archive, "-C", src, "VERSION").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	sum, err := exec.Command("sh", "-c", "sha256sum <\"$0\" | cut -c1-64", archive).Output()
	if err != nil {
		t.Fatal(err)
	}
	good := strings.TrimSpace(string(sum))
	if out, err := run(steps[1], "GOLIVE_ARTIFACT_SHA256="+strings.Repeat("0", 64)); err == nil || !strings.Contains(out, "has sha256 "+good) {
		t.Errorf("verify passed a wrong sha256: %v\n%s", err, out)
	}
	if out, err := run(steps[1]); err == nil {
		t.Errorf("verify passed without GOLIVE_ARTIFACT_SHA256\n%s", out)
	}
	if out, err := run(steps[1], "GOLIVE_ARTIFACT_SHA256="+good); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if out, err := run(steps[2]); err != nil {
		t.Fatalf("unpack: %v\n%s", err, out)
	}
	if out, err := run(steps[3]); err != nil {
		t.Fatalf("switch: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(filepath.Join(root, "current", "VERSION")); err != nil || string(data) != "1.0\n" {
		t.Errorf("current/VERSION = %q, %v", data, err)
	}
	// An archive without the expected file is refused, and leaves nothing.
	scope.Release["version"] = "2.0"
	os.Remove(filepath.Join(src, "VERSION"))
	os.WriteFile(filepath.Join(src, "other"), nil, 0o644)
	if out, err := exec.Command("tar", "-czf", filepath.Join(root, "releases", "2.0.archive"), "-C", src, "other").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	if out, err := run(steps[2]); err == nil || !strings.Contains(out, "the artifact has no VERSION") {
		t.Errorf("unpack accepted an archive without VERSION: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "releases", "2.0")); err == nil {
		t.Error("a refused unpack left releases/2.0")
	}
}
