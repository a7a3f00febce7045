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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
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
	Fingerprint string // of the module's code and tests when made
	Units       map[string][]block
	Seconds     map[string]float64 // how long each unit took, covered
	Failed      []string           // units failing on the unmutated code: not used
}

type focus struct {
	pkg, importPath string
	splits          map[string]string // test -> dir of its subtests' files (*.txtar)
	timeout         time.Duration
	cm              *coverMap
}

// newFocus prepares focused judging of pkg's mutants in the module copies
// works: its import path and the cover map (-covermap, -subtests).
func newFocus(ctx context.Context, works []string, pkg string, timeout time.Duration) (*focus, error) {
	ip, err := exec.Command("go", "list", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	fc := &focus{pkg: pkg, importPath: strings.TrimSpace(string(ip)), splits: parseSplits(opts.subtests), timeout: timeout}
	if err := fc.loadOrBuildMap(ctx, works, opts.coverMap); err != nil {
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

func (f *focus) pkgDir(work string) string { return filepath.Join(work, f.pkg) }

// fingerprint hashes what the cover map depends on: the module's Go
// files, go.mod, go.sum and every file under a testdata directory
// (scripts), with their paths; not the top directories docs, bench and
// scripts (this tool), which no package's tests use.
func fingerprint(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch rel, _ := filepath.Rel(root, path); rel {
			case ".git", ".golive", "docs", "bench", "scripts": // no package's tests use them
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if !d.Type().IsRegular() || !(ext == ".go" || ext == ".mod" || ext == ".sum" ||
			strings.Contains(filepath.ToSlash(path), "/testdata/")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:12]), err
}

// loadOrBuildMap reads the cover map from path, or, when there is none or
// it was made from other code, makes it and saves it there.
func (f *focus) loadOrBuildMap(ctx context.Context, works []string, path string) error {
	fp, err := fingerprint(works[0])
	if err != nil {
		return err
	}
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			cm := &coverMap{}
			if err := json.Unmarshal(data, cm); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if cm.Fingerprint == fp {
				f.cm = cm
				return nil
			}
			fmt.Printf("cover map %s was made from other code: making it again\n", path)
		}
	}
	cm, err := f.buildMap(ctx, works)
	if err != nil {
		return err
	}
	cm.Fingerprint = fp
	f.cm = cm
	if path != "" {
		data, _ := json.Marshal(cm)
		return os.WriteFile(path, data, 0o644)
	}
	return nil
}

// buildMap runs each unit once, covered, on the unmutated code; the
// units are shared among the module copies (one run at a time in each).
func (f *focus) buildMap(ctx context.Context, works []string) (*coverMap, error) {
	bin := filepath.Join(works[0], ".cover.test")
	build := exec.Command("go", "test", "-c", "-cover", "-covermode=set", "-coverpkg="+f.importPath, "-o", bin, f.pkg)
	build.Dir = works[0]
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building covered tests: %v\n%s", err, out)
	}
	units, err := f.units(works[0], bin)
	if err != nil {
		return nil, err
	}
	cm := &coverMap{Units: map[string][]block{}, Seconds: map[string]float64{}}
	type result struct {
		unit   string
		blocks []block
		ok     bool
		took   time.Duration
		err    error
	}
	next, results := make(chan string), make(chan result)
	for _, w := range works {
		go func() {
			for u := range next {
				t0 := time.Now()
				blocks, ok, err := f.coverUnit(ctx, w, bin, u)
				results <- result{u, blocks, ok, time.Since(t0), err}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, u := range units {
			next <- u
		}
	}()
	for i := range units {
		r := <-results
		if r.err != nil {
			return nil, r.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !r.ok {
			cm.Failed = append(cm.Failed, r.unit)
		} else {
			cm.Units[r.unit] = r.blocks
			cm.Seconds[r.unit] = r.took.Seconds()
		}
		fmt.Fprintf(os.Stderr, "cover %d/%d %s: %d blocks, ok=%v (%s)\n", i+1, len(units), r.unit, len(r.blocks), r.ok, r.took.Round(100*time.Millisecond))
	}
	sort.Strings(cm.Failed)
	return cm, nil
}

// units lists the package's tests, with the split tests replaced by their
// subtests.
func (f *focus) units(work, bin string) ([]string, error) {
	cmd := exec.Command(bin, "-test.list", "^Test")
	cmd.Dir = f.pkgDir(work)
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
		files, _ := filepath.Glob(filepath.Join(f.pkgDir(work), dir, "*.txtar"))
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
func (f *focus) coverUnit(ctx context.Context, work, bin, unit string) ([]block, bool, error) {
	tmp, err := os.MkdirTemp(work, ".cov-")
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
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	cmd := command(ctx, bin, "-test.run", runPattern(unit), "-test.count=1",
		"-test.coverprofile="+prof, "-test.gocoverdir="+own)
	cmd.Dir = f.pkgDir(work)
	cmd.Env = append(os.Environ(), "GOCOVERDIR="+sub, "GOLIVE_BUILD_COVERPKG="+f.importPath)
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

// funcName names the function declaration around line ("(*T).m" for a
// method); "" outside functions.
func funcName(src []byte, line int) string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		return ""
	}
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fset.Position(d.Pos()).Line > line || line > fset.Position(d.End()).Line {
			continue
		}
		if fn.Recv == nil || len(fn.Recv.List) == 0 {
			return fn.Name.Name
		}
		return "(" + types.ExprString(fn.Recv.List[0].Type) + ")." + fn.Name.Name
	}
	return ""
}

// judge builds the mutated package's tests once (in the module copy
// work) and runs the given units fastest first (by their time in the
// cover map), in batches (see batches), failing fast: the first failing
// batch ends the judging. A batch that runs longer than 20 times its
// recorded time (at least 1 min, at most -timeout) is TIMED_OUT: a
// mutant that makes a loop endless is killed in a minute, not in five.
func (f *focus) judge(ctx context.Context, work string, units []string) verdict {
	bin := filepath.Join(work, ".mutant.test")
	build := command(ctx, "go", "test", "-c", "-o", bin, f.pkg)
	build.Dir = work
	if out, err := build.CombinedOutput(); err != nil {
		return verdict{status: "NOT_VIABLE", detail: " (" + firstLine(string(out)) + ")"}
	}
	if len(units) == 0 {
		return verdict{status: "NOT_COVERED"}
	}
	for _, batch := range batches(units, f.cm.Seconds) {
		took := 0.0
		for _, u := range batch {
			took += f.cm.Seconds[u]
		}
		timeout := min(f.timeout, max(time.Minute, time.Duration(20*took*float64(time.Second))))
		for _, pattern := range patterns(batch) {
			if v := f.runTests(ctx, work, bin, pattern, timeout); v.status != "LIVED" {
				return v
			}
		}
	}
	return verdict{status: "LIVED"}
}

// batches orders the units by the time they took (fastest first, then by
// name) and cuts them into batches, each run by one process: the first
// holds units up to 1 s in all, each next one at most as long as all the
// batches before it. A mutant the fast tests kill costs one short run; one
// that lives costs about log2(total / 1 s) runs, not one per unit.
func batches(units []string, seconds map[string]float64) [][]string {
	sorted := append([]string(nil), units...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := seconds[sorted[i]], seconds[sorted[j]]
		if a != b {
			return a < b
		}
		return sorted[i] < sorted[j]
	})
	var out [][]string
	var cur []string
	done, sum := 0.0, 0.0
	for _, u := range sorted {
		s := seconds[u]
		if len(cur) > 0 && sum+s > max(1.0, done) {
			out = append(out, cur)
			done += sum
			cur, sum = nil, 0
		}
		cur = append(cur, u)
		sum += s
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// patterns turns units into -test.run patterns: the plain tests in one,
// each split test's subtests in another (a subtest pattern would filter
// the other tests' subtests too).
func patterns(units []string) []string {
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
	var out []string
	for _, k := range keys {
		pattern := "^(" + strings.Join(groups[k], "|") + ")$"
		if k != "" {
			pattern = "^" + regexp.QuoteMeta(k) + "$/" + pattern
		}
		out = append(out, pattern)
	}
	return out
}

func (f *focus) runTests(ctx context.Context, work, bin, pattern string, timeout time.Duration) verdict {
	ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	cmd := command(ctx, bin, "-test.run", pattern, "-test.count=1", "-test.failfast",
		"-test.timeout="+strconv.Itoa(int(timeout.Seconds()))+"s")
	cmd.Dir = f.pkgDir(work)
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return verdict{status: "TIMED_OUT"}
	case err == nil:
		return verdict{status: "LIVED"}
	}
	if strings.Contains(string(out), "panic: test timed out") {
		return verdict{status: "TIMED_OUT"}
	}
	failed := ""
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "--- FAIL: ") {
			failed = strings.TrimPrefix(l, "--- FAIL: ") // the innermost comes last
		}
	}
	if failed == "" {
		return verdict{status: "KILLED"}
	}
	if i := strings.LastIndex(failed, " ("); i > 0 { // " (0.12s)"
		failed = failed[:i]
	}
	return verdict{status: "KILLED", detail: " [" + failed + "]", killer: failed}
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}
