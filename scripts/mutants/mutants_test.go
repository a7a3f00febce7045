package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
