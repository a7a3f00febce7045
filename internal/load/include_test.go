package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const includePlan = `golive: 1
name: demo
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1}
environments:
  staging:
    stages:
      - name: web
        on: all
        steps:
          - include: steps/staging.yaml
stages:
  - name: web
    on: all
    steps:
      - include: steps/shared.yaml
    health:
      - {name: up, run: "true"}
`

// Included files are read relative to the file that names them, their
// problems point into them, and they count in the plan's hash (in every
// environment), so approvals bind to them.
func TestIncludeFromDisk(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"golive.yaml":         includePlan,
		"steps/shared.yaml":   "- name: a\n  run: echo a\n  backout: echo undo a\n- include: sub/more.yaml\n",
		"steps/sub/more.yaml": "- name: b\n  run: echo b\n  backout: echo undo b\n",
		"steps/staging.yaml":  "- name: s\n  run: echo s\n  backout: echo undo s\n",
	})
	file := filepath.Join(dir, "golive.yaml")
	res, err := Load(Options{File: file, Env: "staging"})
	if err != nil || res.Diags.HasErrors() {
		t.Fatal(err, res.Diags)
	}
	if st := res.Plan.Stages[0].Steps; len(st) != 1 || st[0].Name != "s" {
		t.Fatalf("staging steps %+v", st)
	}
	res, err = Load(Options{File: file, AllEnvs: true})
	if err != nil || res.Diags.HasErrors() {
		t.Fatal(err, res.Diags)
	}
	st := res.Plan.Stages[0].Steps
	if len(st) != 2 || st[0].Name != "a" || st[1].Name != "b" || st[1].File != filepath.Join(dir, "steps/sub/more.yaml") {
		t.Fatalf("steps %+v", st)
	}
	h0, err := Hash(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"steps/sub/more.yaml", "steps/staging.yaml"} {
		writeFiles(t, dir, map[string]string{f: "- name: x\n  run: echo changed\n  backout: echo\n"})
		h1, err := Hash(file)
		if err != nil {
			t.Fatal(err)
		}
		if h1 == h0 {
			t.Errorf("the plan's hash did not change with %s", f)
		}
		h0 = h1
	}

	writeFiles(t, dir, map[string]string{"steps/sub/more.yaml": "- name: b\n  run: [echo]\n  backout: echo\n"})
	res, err = Load(Options{File: file, AllEnvs: true})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "steps/sub/more.yaml") + ":2:8: expected a string, got a list"
	if !strings.Contains(res.Diags.Error(), want) {
		t.Errorf("diags:\n%s\nwant %s", res.Diags, want)
	}
	if err := os.Remove(filepath.Join(dir, "steps/sub/more.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(file); err == nil || !strings.Contains(err.Error(), "include sub/more.yaml") {
		t.Errorf("Hash with a missing include: %v", err)
	}
}
