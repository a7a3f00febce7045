package main

// Focused judging (-focus): each mutant is judged by the tests that run
// its line, not by the whole package. A test that never executes the
// mutated line cannot fail because of it, so the verdict is the same as a
// full run's, at a fraction of the time for slow packages (the CLI's
// scripts take minutes a run).
//
// The map "test -> lines it runs" comes from one coverage run per test on
// the unmutated code (-covermap caches it; covermap.go), of the package's
// own tests or of the packages named in -tests (testpkgs.go). A mutant on
// a line no coverage block holds (a switch case's expression) is judged
// by every test that runs any line of the function around it.

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type focus struct {
	pkg, importPath string
	tests           []testPkg         // whose tests judge (-tests; default: pkg's own)
	splits          map[string]string // unit -> dir of its subtests' files (*.txtar)
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
	tests, err := parseTests(pkg, opts.tests)
	if err != nil {
		return nil, err
	}
	fc := &focus{pkg: pkg, importPath: strings.TrimSpace(string(ip)), tests: tests, splits: parseSplits(opts.subtests), timeout: timeout}
	if err := fc.loadOrBuildMap(ctx, works, opts.coverMap); err != nil {
		return nil, err
	}
	if len(fc.cm.Failed) > 0 {
		fmt.Printf("failing without mutants (not used): %s\n", strings.Join(fc.cm.Failed, " "))
	}
	return fc, nil
}

// parseSplits reads -subtests "TestScripts=../../testdata/script,..."
// (a unit name: "cli:TestScripts=..." for a test of another package; the
// directory is relative to the test's package).
func parseSplits(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			m[k] = v
		}
	}
	return m
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

// judge builds the tests of the mutated code (in the module copy work;
// each test package's once, when it first has a unit to run) and runs the
// given units fastest first (by their time in the cover map), in batches
// (see batches), failing fast: the first failing batch ends the judging.
// A batch that runs longer than 20 times its recorded time (at least 1
// min, at most -timeout) is TIMED_OUT: a mutant that makes a loop endless
// is killed in a minute, not in five.
func (f *focus) judge(ctx context.Context, work string, units []string) verdict {
	bins := map[string]string{} // label -> test binary
	build := func(i int) (string, *verdict) {
		tp := f.tests[i]
		if bin, ok := bins[tp.label]; ok {
			return bin, nil
		}
		bin := filepath.Join(work, fmt.Sprintf(".mutant%d.test", i))
		cmd := command(ctx, "go", "test", "-c", "-o", bin, tp.dir)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", &verdict{status: "NOT_VIABLE", detail: " (" + firstLine(string(out)) + ")"}
		}
		bins[tp.label] = bin
		return bin, nil
	}
	if len(units) == 0 { // viable (it compiles) but run by no test?
		if _, v := build(0); v != nil {
			return *v
		}
		return verdict{status: "NOT_COVERED"}
	}
	for _, batch := range batches(units, f.cm.Seconds) {
		took := 0.0
		for _, u := range batch {
			took += f.cm.Seconds[u]
		}
		timeout := min(f.timeout, max(time.Minute, time.Duration(20*took*float64(time.Second))))
		for i, tp := range f.tests {
			var tests []string
			for _, u := range batch {
				if label, test := splitUnit(u); label == tp.label {
					tests = append(tests, test)
				}
			}
			if len(tests) == 0 {
				continue
			}
			bin, v := build(i)
			if v != nil {
				return *v
			}
			for _, pattern := range patterns(tests) {
				if v := f.runTests(ctx, work, tp, bin, pattern, timeout); v.status != "LIVED" {
					return v
				}
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

// patterns turns units of one package (without their label) into
// -test.run patterns: the plain tests in one, each split test's subtests
// in another (a subtest pattern would filter the other tests' subtests
// too).
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

// runTests runs the tests of tp matching pattern in its directory of the
// module copy work; the killer is named as a unit ("sqlite:TestX/sub").
func (f *focus) runTests(ctx context.Context, work string, tp testPkg, bin, pattern string, timeout time.Duration) verdict {
	ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	cmd := command(ctx, bin, "-test.run", pattern, "-test.count=1", "-test.failfast",
		"-test.timeout="+strconv.Itoa(int(timeout.Seconds()))+"s")
	cmd.Dir = filepath.Join(work, tp.dir)
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
	failed = tp.unitName(failed)
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
