package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestBatchesFastestFirstGrowing(t *testing.T) {
	secs := map[string]float64{"A": 30, "B": 0.2, "C": 0.3, "D": 2, "E": 0.9, "F": 4, "G": 0.2}
	got := batches([]string{"A", "B", "C", "D", "E", "F", "G"}, secs)
	want := [][]string{{"B", "G", "C"}, {"E"}, {"D"}, {"F"}, {"A"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batches = %v, want %v", got, want)
	}
	// Units without a recorded time (0) come first, together.
	if got := batches([]string{"x", "y"}, nil); !reflect.DeepEqual(got, [][]string{{"x", "y"}}) {
		t.Fatalf("batches without times = %v", got)
	}
}

func TestPatternsSplitTestsApart(t *testing.T) {
	got := patterns([]string{"TestB", "TestScripts/run.x", "TestA", "TestScripts/abort"})
	want := []string{`^(TestB|TestA)$`, `^TestScripts$/^(run\.x|abort)$`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patterns = %q, want %q", got, want)
	}
}

const src = `package p

func f(a int) int {
	if a < 1 {
		return 0
	}
	return a
}

type T struct{}

func (t *T) g(a int) bool {
	if a < 1 {
		return true
	}
	return false
}
`

func TestFuncName(t *testing.T) {
	for line, want := range map[int]string{4: "f", 13: "(*T).g", 10: "", 1: ""} {
		if got := funcName([]byte(src), line); got != want {
			t.Errorf("line %d: %q, want %q", line, got, want)
		}
	}
}

func TestMutate(t *testing.T) {
	out, desc, err := mutate([]byte(src), "CONDITIONALS_BOUNDARY", 4, 7)
	if err != nil || desc != "< -> <=" || lineOf(out, 4) != "\tif a <= 1 {" {
		t.Fatalf("mutate: %q %q %v", lineOf(out, 4), desc, err)
	}
	if _, _, err := mutate([]byte(src), "CONDITIONALS_BOUNDARY", 4, 2); err == nil {
		t.Fatal("no operator at 4:2, but mutated")
	}
}

// A verdict is carried when file, line text, column, type, function and
// covering units are the same, wherever the line moved; not otherwise.
func TestCarryRule(t *testing.T) {
	res := newResults("./p", "r.json")
	m := func(line, col int, typ, fn, text string, units ...string) *mutant {
		return &mutant{file: "p.go", line: line, col: col, typ: typ, fn: fn, text: text, units: units}
	}
	old := m(4, 7, "CONDITIONALS_BOUNDARY", "f", "\tif a < 1 {", "TestF", "TestG")
	res.add(old, verdict{status: "KILLED", killer: "TestF"})
	path := filepath.Join(t.TempDir(), "old.json")
	if err := res.save(path); err != nil {
		t.Fatal(err)
	}
	c, err := loadCarry(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.find(m(9, 7, "CONDITIONALS_BOUNDARY", "f", "\tif a < 1 {", "TestG", "TestF")); !ok || r.Status != "KILLED" || r.Killer != "TestF" {
		t.Fatalf("moved line, same units: not carried (%v %v)", r, ok)
	}
	for name, n := range map[string]*mutant{
		"text":  m(4, 7, "CONDITIONALS_BOUNDARY", "f", "\tif a < 2 {", "TestF", "TestG"),
		"col":   m(4, 8, "CONDITIONALS_BOUNDARY", "f", "\tif a < 1 {", "TestF", "TestG"),
		"type":  m(4, 7, "CONDITIONALS_NEGATION", "f", "\tif a < 1 {", "TestF", "TestG"),
		"func":  m(4, 7, "CONDITIONALS_BOUNDARY", "(*T).g", "\tif a < 1 {", "TestF", "TestG"),
		"units": m(4, 7, "CONDITIONALS_BOUNDARY", "f", "\tif a < 1 {", "TestF", "TestG", "TestNew"),
	} {
		if _, ok := c.find(n); ok {
			t.Errorf("changed %s: carried", name)
		}
	}
	// A survivor is never carried: a new or stronger test may kill it.
	lived := m(20, 7, "CONDITIONALS_BOUNDARY", "h", "\tif b < 1 {", "TestH")
	res.add(lived, verdict{status: "LIVED"})
	if err := res.save(path); err != nil {
		t.Fatal(err)
	}
	if c, err = loadCarry(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.find(lived); ok {
		t.Error("LIVED carried")
	}
	// Two records with the same key and different verdicts: judged again.
	res.add(m(5, 7, "CONDITIONALS_BOUNDARY", "f", "\tif a < 1 {", "TestF", "TestG"), verdict{status: "LIVED"})
	if err := res.save(path); err != nil {
		t.Fatal(err)
	}
	if c, err = loadCarry(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.find(old); ok {
		t.Error("ambiguous records: carried")
	}
	if c, err = loadCarry(filepath.Join(t.TempDir(), "none.json")); err != nil || len(c.byKey) != 0 {
		t.Fatalf("missing carry file: %v", err)
	}
}

func TestFingerprintIgnoresDocs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) { writeFile(t, dir, name, s) }
	write("a.go", "package a")
	write("testdata/script/x.txtar", "exec golive")
	fp := func() string {
		s, err := fingerprint(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := fp()
	write("docs/mutation/a.json", "{}")
	write("README.md", "x")
	write("scripts/mutants/main.go", "package main")
	if fp() != first {
		t.Fatal("docs changed the fingerprint")
	}
	write("testdata/script/x.txtar", "exec golive run")
	if fp() == first {
		t.Fatal("a script changed, fingerprint did not")
	}
}

func TestTestPackagesNames(t *testing.T) {
	tests, err := parseTests("./internal/store", "./internal/store, ./internal/store/sqlite,./internal/cli")
	if err != nil {
		t.Fatal(err)
	}
	want := []testPkg{{"./internal/store", ""}, {"./internal/store/sqlite", "sqlite"}, {"./internal/cli", "cli"}}
	if !reflect.DeepEqual(tests, want) {
		t.Fatalf("parseTests = %+v, want %+v", tests, want)
	}
	if got, _ := parseTests("./internal/store", ""); !reflect.DeepEqual(got, []testPkg{{"./internal/store", ""}}) {
		t.Fatalf("no -tests: %+v, want the package's own", got)
	}
	for _, bad := range []string{"./a/sqlite,./b/sqlite", "./internal/...", "./x,./x"} {
		if _, err := parseTests("./internal/store", bad); err == nil {
			t.Errorf("-tests %q accepted", bad)
		}
	}
	for unit, want := range map[string][2]string{
		"TestX":                {"", "TestX"},
		"TestScripts/a:b":      {"", "TestScripts/a:b"},
		"sqlite:TestX":         {"sqlite", "TestX"},
		"cli:TestScripts/a:b":  {"cli", "TestScripts/a:b"},
		"sqlite:TestX/sub/x:y": {"sqlite", "TestX/sub/x:y"},
	} {
		if l, test := splitUnit(unit); l != want[0] || test != want[1] {
			t.Errorf("splitUnit(%q) = %q, %q; want %q", unit, l, test, want)
		}
	}
	if got := runPattern("cli:TestScripts/run.x"); got != `^TestScripts$/^run\.x$` {
		t.Errorf("runPattern = %q", got)
	}
}

// A mutant of package p that only the tests of p/q run is judged by
// them with -tests ./p,./p/q (the cover map built with -coverpkg=p per
// test unit, the killer named "q:TestMin"), and is NOT_COVERED by p's
// own tests; the cover map of one set of test packages is not used for
// another. Mutants of a subpackage's files are left out, those of a file
// the build leaves out are SKIPPED.
func TestOtherPackagesJudge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) { writeFile(t, dir, name, s) }
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	write("p/p.go", "package p\n\nfunc Min(a, b int) int {\n\tif a < b {\n\t\treturn a\n\t}\n\treturn b\n}\n\nfunc One() int { return 1 }\n")
	write("p/p_windows.go", "package p\n\nfunc two() int { return 1 + 1 }\n")
	write("p/p_test.go", "package p\n\nimport \"testing\"\n\nfunc TestOne(t *testing.T) {\n\tif One() != 1 {\n\t\tt.Fatal(One())\n\t}\n}\n")
	write("p/q/q.go", "package q\n\nfunc Three() int { return 1 + 2 }\n")
	write("p/q/q_test.go", "package q\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/p\"\n)\n\n"+
		"func TestMin(t *testing.T) {\n\tif p.Min(1, 2) != 1 || p.Min(2, 1) != 1 {\n\t\tt.Fatal(\"Min\")\n\t}\n}\n")
	t.Chdir(dir)
	saved := opts
	t.Cleanup(func() { opts = saved })
	work := t.TempDir()
	if err := copyModule(".", work); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var rep report
	if err := json.Unmarshal([]byte(`{"files": [
		{"file_name": "p.go", "mutations": [{"type": "CONDITIONALS_NEGATION", "status": "RUNNABLE", "line": 4, "column": 7}]},
		{"file_name": "p_windows.go", "mutations": [{"type": "ARITHMETIC_BASE", "status": "RUNNABLE", "line": 3, "column": 32}]},
		{"file_name": "q/q.go", "mutations": [{"type": "ARITHMETIC_BASE", "status": "RUNNABLE", "line": 3, "column": 34}]}]}`), &rep); err != nil {
		t.Fatal(err)
	}
	muts, err := selectMutants(rep, "./p", []string{"RUNNABLE"})
	if err != nil {
		t.Fatal(err)
	}
	if len(muts) != 2 || muts[0].file != "p.go" || muts[0].skipped != nil || muts[1].file != "p_windows.go" || muts[1].skipped == nil {
		t.Fatalf("mutants: %+v", muts)
	}
	m := muts[0]

	opts.tests, opts.coverMap = "./p,./p/q", filepath.Join(t.TempDir(), "p.cov")
	fc, err := newFocus(ctx, []string{work}, "./p", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.cm.Units) != 2 || fc.cm.Units["TestOne"] == nil || fc.cm.Units["q:TestMin"] == nil {
		t.Fatalf("cover map units: %v", fc.cm.Units)
	}
	units := fc.testsFor(m.file, m.orig, m.line, m.col)
	if !reflect.DeepEqual(units, []string{"q:TestMin"}) {
		t.Fatalf("units running p.go:4 = %v", units)
	}
	judge := func(units []string) verdict {
		path := filepath.Join(work, "p", m.file)
		if err := os.WriteFile(path, m.mutated, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(path, m.orig, 0o644)
		return fc.judge(ctx, work, units)
	}
	if v := judge(units); v.status != "KILLED" || v.killer != "q:TestMin" {
		t.Fatalf("with -tests ./p,./p/q: %+v, want KILLED by q:TestMin", v)
	}

	opts.tests = "" // the same cover map file: made again for p's own tests
	if fc, err = newFocus(ctx, []string{work}, "./p", time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(fc.cm.Units) != 1 || fc.cm.Tests != nil {
		t.Fatalf("own tests' cover map: %v (tests %v)", fc.cm.Units, fc.cm.Tests)
	}
	if units = fc.testsFor(m.file, m.orig, m.line, m.col); len(units) != 0 {
		t.Fatalf("p's own tests run p.go:4: %v", units)
	}
	if v := judge(units); v.status != "NOT_COVERED" {
		t.Fatalf("p's own tests: %+v, want NOT_COVERED", v)
	}
}

// writeFile writes s to dir/name, making its directory.
func writeFile(t *testing.T, dir, name, s string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
