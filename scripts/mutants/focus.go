package main

// Focused judging (-focus): each mutant is judged by the tests that run
// its line, not by the whole package. A test that never executes the
// mutated line cannot fail because of it, so the verdict is the same as a
// full run's, at a fraction of the time for slow packages (the CLI's
// scripts take minutes a run).
//
// The map "test -> lines it runs" comes from one coverage run per test on
// the unmutated code (-covermap caches it). Subprocesses count: the
// package's test binary, when testscript runs it as a command, writes its
// coverage to GOCOVERDIR, and golivetest.Build builds a covered golive
// binary when GOLIVE_BUILD_COVERPKG is set. A mutant on a line no
// coverage block holds (a switch case's expression) is judged by every
// test that runs any line of the function around it.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// block is a covered range of a file of the package, 1-based, end
// exclusive.
type block struct {
	File           string
	SL, SC, EL, EC int
}

// coverMap says which lines each test unit (a top-level test, or a
// subtest of a split test: "TestScripts/name") runs.
type coverMap struct {
	Units  map[string][]block
	Failed []string // units failing on the unmutated code: not used
}

type focus struct {
	work, pkg, importPath string
	splits                map[string]string // test -> dir of its subtests' files (*.txtar)
	timeout               time.Duration
	cm                    *coverMap
}

// newFocus prepares focused judging of pkg's mutants in the module copy
// work: its import path and the cover map (-covermap, -subtests).
func newFocus(work, pkg string, timeout time.Duration) (*focus, error) {
	ip, err := exec.Command("go", "list", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	fc := &focus{work: work, pkg: pkg, importPath: strings.TrimSpace(string(ip)), splits: parseSplits(opts.subtests), timeout: timeout}
	if err := fc.loadOrBuildMap(opts.coverMap); err != nil {
		return nil, err
	}
	if len(fc.cm.Failed) > 0 {
		fmt.Printf("failing without mutants (not used): %s\n", strings.Join(fc.cm.Failed, " "))
	}
	return fc, nil
}

// parseSplits reads -subtests "TestScripts=../../testdata/script,...".
func parseSplits(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			m[k] = v
		}
	}
	return m
}

func (f *focus) pkgDir() string { return filepath.Join(f.work, f.pkg) }

// loadOrBuildMap reads the cover map from path, or makes it and saves it
// there.
func (f *focus) loadOrBuildMap(path string) error {
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			f.cm = &coverMap{}
			return json.Unmarshal(data, f.cm)
		}
	}
	cm, err := f.buildMap()
	if err != nil {
		return err
	}
	f.cm = cm
	if path != "" {
		data, _ := json.Marshal(cm)
		return os.WriteFile(path, data, 0o644)
	}
	return nil
}

func (f *focus) buildMap() (*coverMap, error) {
	bin := filepath.Join(f.work, ".cover.test")
	build := exec.Command("go", "test", "-c", "-cover", "-covermode=set", "-coverpkg="+f.importPath, "-o", bin, f.pkg)
	build.Dir = f.work
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building covered tests: %v\n%s", err, out)
	}
	units, err := f.units(bin)
	if err != nil {
		return nil, err
	}
	cm := &coverMap{Units: map[string][]block{}}
	for i, u := range units {
		t0 := time.Now()
		blocks, ok, err := f.coverUnit(bin, u)
		if err != nil {
			return nil, err
		}
		if !ok {
			cm.Failed = append(cm.Failed, u)
		} else {
			cm.Units[u] = blocks
		}
		fmt.Fprintf(os.Stderr, "cover %d/%d %s: %d blocks, ok=%v (%s)\n", i+1, len(units), u, len(blocks), ok, time.Since(t0).Round(time.Second))
	}
	return cm, nil
}

// units lists the package's tests, with the split tests replaced by their
// subtests.
func (f *focus) units(bin string) ([]string, error) {
	cmd := exec.Command(bin, "-test.list", "^Test")
	cmd.Dir = f.pkgDir()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing tests: %v", err)
	}
	var units []string
	for _, name := range strings.Fields(string(out)) {
		dir, split := f.splits[name]
		if !split {
			units = append(units, name)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(f.pkgDir(), dir, "*.txtar"))
		for _, file := range files {
			units = append(units, name+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"))
		}
	}
	return units, nil
}

// runPattern is the -test.run pattern of one unit.
func runPattern(unit string) string {
	top, sub, ok := strings.Cut(unit, "/")
	if !ok {
		return "^" + regexp.QuoteMeta(top) + "$"
	}
	return "^" + regexp.QuoteMeta(top) + "$/^" + regexp.QuoteMeta(sub) + "$"
}

// coverUnit runs one unit on the unmutated code and returns the blocks of
// the package it ran, and whether it passed.
func (f *focus) coverUnit(bin, unit string) ([]block, bool, error) {
	tmp, err := os.MkdirTemp(f.work, ".cov-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(tmp)
	own, sub := filepath.Join(tmp, "own"), filepath.Join(tmp, "sub")
	for _, d := range []string{own, sub} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, false, err
		}
	}
	prof := filepath.Join(tmp, "profile")
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", runPattern(unit), "-test.count=1",
		"-test.coverprofile="+prof, "-test.gocoverdir="+own)
	cmd.Dir = f.pkgDir()
	cmd.Env = append(os.Environ(), "GOCOVERDIR="+sub, "GOLIVE_BUILD_COVERPKG="+f.importPath)
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	blocks, err := f.readProfile(prof)
	if err != nil {
		return nil, false, err
	}
	if ents, _ := os.ReadDir(sub); len(ents) > 0 {
		txt := filepath.Join(tmp, "sub.txt")
		conv := exec.Command("go", "tool", "covdata", "textfmt", "-i="+sub, "-o="+txt)
		if out, err := conv.CombinedOutput(); err != nil {
			return nil, false, fmt.Errorf("covdata: %v\n%s", err, out)
		}
		more, err := f.readProfile(txt)
		if err != nil {
			return nil, false, err
		}
		blocks = append(blocks, more...)
	}
	return blocks, runErr == nil, nil
}

// readProfile reads the executed blocks of the package's own files from a
// text coverage profile.
func (f *focus) readProfile(path string) ([]block, error) {
	fh, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer fh.Close()
	var out []block
	sc := bufio.NewScanner(fh)
	prefix := f.importPath + "/"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		// path/file.go:SL.SC,EL.EC stmts count
		colon := strings.LastIndex(line, ":")
		file := strings.TrimPrefix(line[:colon], prefix)
		if strings.Contains(file, "/") {
			continue // a subpackage
		}
		var b block
		var stmts, count int
		if _, err := fmt.Sscanf(line[colon+1:], "%d.%d,%d.%d %d %d", &b.SL, &b.SC, &b.EL, &b.EC, &stmts, &count); err != nil {
			return nil, fmt.Errorf("%s: %q: %v", path, line, err)
		}
		if count == 0 {
			continue
		}
		b.File = file
		out = append(out, b)
	}
	return out, sc.Err()
}

// testsFor returns the units that run line:col of file, or, if no block
// holds it, any line of the function around it.
func (f *focus) testsFor(file string, src []byte, line, col int) []string {
	in := func(b block) bool {
		return b.File == file && before(b.SL, b.SC, line, col) && before(line, col, b.EL, b.EC)
	}
	if units := f.unitsWhere(in); len(units) > 0 {
		return units
	}
	lo, hi, ok := funcLines(src, line)
	if !ok { // a package-level constant or variable: any test may use it
		return f.unitsWhere(func(block) bool { return true })
	}
	return f.unitsWhere(func(b block) bool {
		return b.File == file && b.EL >= lo && b.SL <= hi
	})
}

func before(l1, c1, l2, c2 int) bool { return l1 < l2 || l1 == l2 && c1 <= c2 }

func (f *focus) unitsWhere(match func(block) bool) []string {
	var units []string
	for u, blocks := range f.cm.Units {
		for _, b := range blocks {
			if match(b) {
				units = append(units, u)
				break
			}
		}
	}
	sort.Strings(units)
	return units
}

// funcLines returns the lines of the function declaration around line;
// ok is false outside functions.
func funcLines(src []byte, line int) (lo, hi int, ok bool) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		return 0, 0, false
	}
	for _, d := range file.Decls {
		lo, hi := fset.Position(d.Pos()).Line, fset.Position(d.End()).Line
		if _, fn := d.(*ast.FuncDecl); fn && lo <= line && line <= hi {
			return lo, hi, true
		}
	}
	return 0, 0, false
}

// judge builds the mutated package's tests once and runs the given units,
// failing fast.
func (f *focus) judge(units []string) (status, detail string) {
	bin := filepath.Join(f.work, ".mutant.test")
	build := exec.Command("go", "test", "-c", "-o", bin, f.pkg)
	build.Dir = f.work
	if out, err := build.CombinedOutput(); err != nil {
		return "NOT_VIABLE", " (" + firstLine(string(out)) + ")"
	}
	if len(units) == 0 {
		return "NOT_COVERED", ""
	}
	// Group the units by -test.run pattern: the plain tests in one run,
	// each split test's subtests in another (a subtest pattern would
	// filter the other tests' subtests too).
	groups := map[string][]string{}
	for _, u := range units {
		top, sub, ok := strings.Cut(u, "/")
		if !ok {
			groups[""] = append(groups[""], regexp.QuoteMeta(top))
		} else {
			groups[top] = append(groups[top], regexp.QuoteMeta(sub))
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pattern := "^(" + strings.Join(groups[k], "|") + ")$"
		if k != "" {
			pattern = "^" + regexp.QuoteMeta(k) + "$/" + pattern
		}
		if status, detail := f.runTests(bin, pattern); status != "LIVED" {
			return status, detail
		}
	}
	return "LIVED", ""
}

func (f *focus) runTests(bin, pattern string) (status, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", pattern, "-test.count=1", "-test.failfast",
		"-test.timeout="+strconv.Itoa(int(f.timeout.Seconds()))+"s")
	cmd.Dir = f.pkgDir()
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return "TIMED_OUT", ""
	case err == nil:
		return "LIVED", ""
	}
	if strings.Contains(string(out), "panic: test timed out") {
		return "TIMED_OUT", ""
	}
	failed := ""
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "--- FAIL: ") {
			failed = " [" + strings.TrimPrefix(l, "--- FAIL: ") + "]" // the innermost comes last
		}
	}
	return "KILLED", failed
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}
