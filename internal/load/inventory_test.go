package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const inventoryPlan = `golive: 1
name: inv
targets:
  inventory: inv/hosts.ini
stages:
  - name: web
    on: web
    steps:
      - name: hello
        run: echo hi
        backout: 'true'
    health:
      - {name: up, run: 'true'}
`

// The group_vars/ and host_vars/ files beside an inventory set its hosts'
// settings, and the plan's hash covers them: changing an address there
// is a different plan.
func TestInventoryVarsDirs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"golive.yaml":                inventoryPlan,
		"inv/hosts.ini":              "[web]\nw1\nlocal1 ansible_connection=local\n",
		"inv/group_vars/web.yml":     "ansible_user: deploy\n",
		"inv/host_vars/w1/addr.yaml": "ansible_host: 192.0.2.1\n",
	})
	file := filepath.Join(dir, "golive.yaml")
	res, err := Load(Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diags.HasErrors() {
		t.Fatal(res.Diags)
	}
	targets := res.Plan.ResolveTargets()
	if len(targets) != 2 {
		t.Fatalf("targets %+v", targets)
	}
	if w1 := targets[0]; w1.Address != "192.0.2.1" || w1.User != "deploy" || w1.Transport != "ssh" {
		t.Errorf("w1: address %q user %q transport %q, want 192.0.2.1 deploy ssh", w1.Address, w1.User, w1.Transport)
	}
	if l := targets[1]; l.Transport != "local" {
		t.Errorf("local1: transport %q, want local", l.Transport)
	}
	before, err := Hash(file)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"inv/host_vars/w1/addr.yaml": "ansible_host: 192.0.2.2\n"})
	after, err := Hash(file)
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("the plan's hash did not change with host_vars/w1/addr.yaml")
	}
}

// A problem in a group_vars file is reported at that file's line; an
// unknown key in a YAML group is a warning.
func TestInventoryDiags(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"golive.yaml":            strings.Replace(inventoryPlan, "inv/hosts.ini", "[inv/hosts.ini, other/more.yml]", 1),
		"inv/hosts.ini":          "[web]\nw1\n",
		"inv/group_vars/web.yml": "x: 1\nansible_port: 70000\n",
		"other/more.yml":         "web:\n  hosts: {w2: }\n  hots: {w3: }\n",
	})
	res, err := Load(Options{File: filepath.Join(dir, "golive.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Diags.Error()
	for _, want := range []string{
		filepath.Join(dir, "inv", "group_vars", "web.yml") + `:2:15: ansible_port "70000": must be an integer from 1 to 65535`,
		filepath.Join(dir, "other", "more.yml") + `:3:3: warning: group "web": skipping unknown key "hots"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diags:\n%s\nwant a line with %q", got, want)
		}
	}
}
