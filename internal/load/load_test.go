package load

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/plan"
)

// TestValidPlans: every example, every plan under testdata, and every
// complete plan in the docs validates without errors.
func TestValidPlans(t *testing.T) {
	root := filepath.Join("..", "..")
	var files []string
	for _, glob := range []string{"examples/*/golive.yaml", "internal/plan/testdata/valid/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatalf("found only %d plans to check: %v", len(files), files)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			res, err := Load(Options{File: file, AllEnvs: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Diags.HasErrors() {
				t.Errorf("%s has errors:\n%s", file, res.Diags.Errors())
			}
		})
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocPlans validates the plans written in the README and docs/*.md.
// A block whose first line is "# fragment" is a piece of a plan, not checked.
func TestDocPlans(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append(docs, filepath.Join(root, "README.md"))
	checked := 0
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllSubmatch(text, -1) {
			block := m[1]
			if bytes.HasPrefix(block, []byte("# fragment")) || !bytes.Contains(block, []byte("golive: 1")) {
				continue
			}
			file := filepath.Join(t.TempDir(), "golive.yaml")
			os.WriteFile(file, block, 0o644)
			res, err := Load(Options{File: file, AllEnvs: true})
			if err != nil {
				t.Errorf("%s block %d: %v", doc, i+1, err)
				continue
			}
			if res.Diags.HasErrors() {
				t.Errorf("%s block %d has errors:\n%s\n%s", doc, i+1, res.Diags.Errors(), block)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no plan found in the docs")
	}
}

func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, _ := os.Create(big)
	line := []byte("# " + strings.Repeat("x", 1021) + "\n")
	for i := 0; i < 50<<10; i++ { // 50 MiB
		f.Write(line)
	}
	f.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := Load(Options{File: big})
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if len(res.Diags) != 1 || !strings.Contains(res.Diags[0].Msg, "file is 52428800 bytes; a plan may be at most 4 MiB") {
		t.Errorf("50 MB file: got %v", res.Diags)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Errorf("50 MB file: allocated %d bytes; reading must stop at the size limit", grown)
	}

	if _, err := Load(Options{File: dir}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory as plan: got %v", err)
	}
	if _, err := Load(Options{File: filepath.Join(dir, "nope.yaml")}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing plan: got %v", err)
	}
}

func TestEnvironmentOverlay(t *testing.T) {
	dir := t.TempDir()
	plan := `golive: 1
name: demo
vars: {color: blue}
targets:
  defaults: {transport: local, dir: base}
  hosts:
    d1: {roles: [web]}
environments:
  staging:
    vars: {color: green}
    targets:
      inventory: staging.ini
  production:
    targets:
      defaults: {dir: prod}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: "echo ${{ vars.color }}", backout: "true"}
    health:
      - run: "true"
`
	os.WriteFile(filepath.Join(dir, "golive.yaml"), []byte(plan), 0o644)
	os.WriteFile(filepath.Join(dir, "staging.ini"), []byte("[web]\ns1 ansible_host=127.0.0.2\ns2\n"), 0o644)
	load := func(env string) *Result {
		t.Helper()
		res, err := Load(Options{File: filepath.Join(dir, "golive.yaml"), Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	st := load("staging")
	targets := st.Plan.ResolveTargets()
	if len(targets) != 2 || targets[0].Name != "s1" || targets[0].Address != "127.0.0.2" || targets[0].Dir != "base" {
		t.Errorf("staging: inventory must replace the base hosts, defaults must merge; got %+v", targets)
	}
	if v, _ := st.Plan.Vars.Get("color"); v != "green" {
		t.Errorf("staging var color = %q, want green", v)
	}
	prod := load("production")
	targets = prod.Plan.ResolveTargets()
	if len(targets) != 1 || targets[0].Name != "d1" || targets[0].Dir != "prod" {
		t.Errorf("production: base hosts with overridden defaults; got %+v", targets)
	}
	if _, err := Load(Options{File: filepath.Join(dir, "golive.yaml")}); !errors.Is(err, ErrUsage) {
		t.Errorf("no --env with environments: got %v", err)
	}
}

// Overrides from the network set only settable vars, to values their
// pattern matches; from the CLI any var, a declared pattern still applies.
// Either way a value is never evaluated as an expression.
func TestSetOrigins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(file, []byte(`golive: 1
name: set
vars:
  dir: /srv
  color: {value: blue, settable: "blue|green"}
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: h1, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: "echo ${{ shell(vars.color) }} ${{ shell(vars.dir) }}", backout: "true"}
    health:
      - {name: ok, run: "true"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  map[string]string
		from plan.Origin
		want string // "" for accepted
	}{
		{map[string]string{"color": "green"}, plan.FromNetwork, ""},
		{map[string]string{"color": "green"}, plan.FromOperator, ""},
		{map[string]string{"dir": "/x"}, plan.FromOperator, ""},
		{map[string]string{"dir": "/x"}, plan.FromNetwork, `var dir "/x": this var is not settable`},
		{map[string]string{"color": "greenish"}, plan.FromNetwork, `var color "greenish": the value does not match`},
		{map[string]string{"color": "red"}, plan.FromOperator, `var color "red": the value does not match`},
		{map[string]string{"dir": "${{ secrets.X }}"}, plan.FromOperator, ""},
	} {
		res, err := Load(Options{File: file, Set: c.set, SetFrom: c.from})
		switch {
		case c.want == "" && (err != nil || res.Diags.HasErrors()):
			t.Errorf("%v from %d: %v %v", c.set, c.from, err, res)
		case c.want != "" && (err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v from %d: %v, want a usage error with %q", c.set, c.from, err, c.want)
		case c.want == "":
			for k, v := range c.set {
				if got, _ := res.Plan.Vars.Get(k); got != v {
					t.Errorf("var %s = %q, want %q", k, got, v)
				}
			}
		}
	}
}
