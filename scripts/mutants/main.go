// Command mutants judges mutants listed in a gremlins JSON report on copies
// of the module: it applies each and runs the package's tests against it.
// Give it the report of a dry run (`gremlins unleash --dry-run -o
// report.json PKG`) and -status 'RUNNABLE,NOT COVERED' to judge every
// mutant, or the report of a real gremlins run to judge again what
// gremlins could not:
//
//   - NOT COVERED: gremlins takes coverage from `go test -cover`, which
//     has no block for a switch case's expression, so every mutant of a
//     `case a != b:` is reported not covered and never tested;
//   - TIMED OUT: gremlins' timeout is a multiple of the tests' time
//     without mutants, short on a loaded machine;
//   - LIVED: to print each survivor with its source line.
//
// Usage (from the module root):
//
//	go run ./scripts/mutants -report report.json -pkg ./internal/engine \
//	    [-tests DIR,...] [-status ...] [-focus -covermap F] [-j N] [-out R.json] [-carry OLD.json] [-list]
//
// -tests names the packages whose tests judge (default: -pkg's own; see
// testpkgs.go). Mutants of files in a subdirectory (gremlins lists a
// package's subpackages too) are left out: judge each package with its
// own -pkg. Mutants of files the build leaves out here (pid_windows.go on
// Linux) are SKIPPED: no test can run them.
// -j N judges N mutants at a time, each worker in its own copy of the
// module. -out writes the verdicts as JSON (rewritten after each one, so
// an interrupted run can be resumed with -carry R.json -out R.json).
// -carry re-uses the verdicts of a recorded run (see results.go for the
// rule). It prints one line per mutant and a summary; it never changes
// the module it is run from. See docs/architecture.md, "Tests that bite".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

var opts struct {
	focus                             bool
	coverMap, subtests, only, rejudge string
	tests                             string
	carry, out                        string
	sample, offset, jobs              int
}

type report struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// replacements maps a gremlins mutant type and the operator found at its
// position to what the mutant puts there.
var replacements = map[string]map[string]string{
	"CONDITIONALS_BOUNDARY": {"<": "<=", "<=": "<", ">": ">=", ">=": ">"},
	"CONDITIONALS_NEGATION": {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"},
	"ARITHMETIC_BASE":       {"+": "-", "-": "+", "*": "/", "/": "*", "%": "*"},
	"INCREMENT_DECREMENT":   {"++": "--", "--": "++"},
	"INVERT_NEGATIVES":      {"-": "+"},
}

func main() {
	rep := flag.String("report", "", "gremlins JSON report (-o)")
	pkg := flag.String("pkg", "", "package the report is about, e.g. ./internal/engine")
	statuses := flag.String("status", "NOT COVERED,TIMED OUT,LIVED", "statuses to judge again")
	timeout := flag.Duration("timeout", 5*time.Minute, "time one test run may take")
	list := flag.Bool("list", false, "only list the mutants with their source lines; run no test")
	flag.BoolVar(&opts.focus, "focus", false, "judge each mutant by the tests that run its line only (see focus.go)")
	flag.StringVar(&opts.coverMap, "covermap", "", "with -focus: file caching the map test -> lines it runs (rebuilt when the code changed)")
	flag.StringVar(&opts.tests, "tests", "", "packages whose tests judge the mutants, comma-separated directories (default: -pkg); e.g. ./internal/store,./internal/store/sqlite")
	flag.StringVar(&opts.subtests, "subtests", "", "with -focus: tests whose subtests are judged one by one, as Test=dir of *.txtar, comma-separated")
	flag.IntVar(&opts.sample, "sample", 1, "judge every Nth mutant only (the 1st, N+1th, ... in report order)")
	flag.IntVar(&opts.offset, "offset", 0, "with -sample N: start at the mutant after the first OFFSET (0 <= OFFSET < N)")
	flag.StringVar(&opts.only, "only", "", "judge only these mutants: file:line:col, comma-separated")
	flag.IntVar(&opts.jobs, "j", 1, "mutants judged at a time, each in its own copy of the module")
	flag.StringVar(&opts.out, "out", "", "write the verdicts as JSON to this file (after each verdict)")
	flag.StringVar(&opts.carry, "carry", "", "with -focus: keep the verdicts of this recorded run (-out file) for unchanged mutants")
	flag.StringVar(&opts.rejudge, "rejudge", "", "with -carry: judge these again even if unchanged: file:line:col, comma-separated")
	show := flag.String("show", "", "print the survivors and the summary of a results file (-out) and exit")
	flag.Parse()
	if *show != "" {
		if err := showResults(*show); err != nil {
			fmt.Fprintln(os.Stderr, "mutants:", err)
			os.Exit(1)
		}
		return
	}
	if *rep == "" || *pkg == "" || opts.jobs < 1 || opts.carry != "" && !opts.focus {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *rep, *pkg, strings.Split(*statuses, ","), *timeout, *list); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

// mutant is one mutant of the report, applied to its file's source.
type mutant struct {
	index         int // in report order
	file          string
	line, col     int
	typ, was      string
	desc          string // "< -> <="
	orig, mutated []byte
	fn, text      string
	units         []string
	skipped       error
}

func (m *mutant) id() string { return fmt.Sprintf("%s:%d:%d", m.file, m.line, m.col) }

func run(ctx context.Context, repPath, pkg string, statuses []string, timeout time.Duration, list bool) error {
	data, err := os.ReadFile(repPath)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("%s: %w", repPath, err)
	}
	if list {
		return listMutants(rep, pkg, statuses)
	}
	muts, err := selectMutants(rep, pkg, statuses)
	if err != nil {
		return err
	}
	tests, err := parseTests(pkg, opts.tests)
	if err != nil {
		return err
	}
	works := make([]string, opts.jobs)
	for i := range works {
		if works[i], err = os.MkdirTemp("", "mutants-"); err != nil {
			return err
		}
		defer os.RemoveAll(works[i])
		if err := copyModule(".", works[i]); err != nil {
			return err
		}
	}
	res := newResults(pkg, repPath)
	var fc *focus
	if opts.focus {
		if fc, err = newFocus(ctx, works, pkg, timeout); err != nil {
			return err
		}
		fmt.Printf("judged by the tests of %s (%d units)\n", strings.Join(dirs(fc.tests), ", "), len(fc.cm.Units))
		res.ImportPath = fc.importPath
	}
	var old *carried
	if opts.carry != "" {
		if old, err = loadCarry(opts.carry); err != nil {
			return err
		}
	}
	todo := triage(muts, fc, old, res)
	if err := res.save(opts.out); err != nil {
		return err
	}
	fmt.Printf("%d mutants: %d carried or skipped, %d to judge with %d worker(s)\n", len(muts), len(muts)-len(todo), len(todo), opts.jobs)
	if err := judgeAll(ctx, works, pkg, tests, timeout, fc, todo, res); err != nil {
		return err
	}
	res.Complete = true
	if err := res.save(opts.out); err != nil {
		return err
	}
	res.printSummary()
	return nil
}

// triage records the skipped mutants and those whose verdict is carried
// (-carry, unless named in -rejudge), and returns the ones to judge.
func triage(muts []*mutant, fc *focus, old *carried, res *results) []*mutant {
	rejudge := idSet(opts.rejudge)
	var todo []*mutant
	for _, m := range muts {
		if m.skipped != nil {
			res.add(m, verdict{status: "SKIPPED", detail: m.skipped.Error()})
			continue
		}
		if fc != nil {
			m.units = fc.testsFor(m.file, m.orig, m.line, m.col)
		}
		if old != nil && !rejudge[m.id()] {
			if r, ok := old.find(m); ok {
				res.carry(m, r)
				continue
			}
		}
		todo = append(todo, m)
	}
	return todo
}

// judgeAll judges todo with one worker per module copy, recording (and
// saving) each verdict as it comes.
func judgeAll(ctx context.Context, works []string, pkg string, tests []testPkg, timeout time.Duration, fc *focus, todo []*mutant, res *results) error {
	jobs := make(chan *mutant)
	done := make(chan judged)
	for _, w := range works {
		go worker(ctx, w, pkg, tests, timeout, fc, jobs, done)
	}
	go func() {
		defer close(jobs)
		for _, m := range todo {
			select {
			case jobs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	for n := 0; n < len(todo); n++ {
		var j judged
		select {
		case j = <-done:
		case <-ctx.Done():
			res.save(opts.out)
			return fmt.Errorf("interrupted after %d of %d; resume with -carry %s", n, len(todo), opts.out)
		}
		if j.err != nil {
			return j.err
		}
		res.add(j.m, j.v)
		if err := res.save(opts.out); err != nil {
			return err
		}
	}
	return nil
}

// selectMutants lists the mutants of the statuses (and -only, -sample)
// in report order, each applied to its file's source.
func selectMutants(rep report, pkg string, statuses []string) ([]*mutant, error) {
	only := idSet(opts.only)
	ignored, err := ignoredFiles(pkg)
	if err != nil {
		return nil, err
	}
	var out []*mutant
	nth, sub := 0, 0
	for _, f := range rep.Files {
		if strings.Contains(f.FileName, "/") {
			sub += len(f.Mutations)
			continue
		}
		orig, err := os.ReadFile(filepath.Join(pkg, f.FileName))
		if err != nil {
			return nil, err
		}
		for _, rm := range f.Mutations {
			if !contains(statuses, rm.Status) {
				continue
			}
			m := &mutant{index: len(out), file: f.FileName, line: rm.Line, col: rm.Column, typ: rm.Type, was: rm.Status, orig: orig}
			if len(only) > 0 && !only[m.id()] {
				continue
			}
			nth++
			if opts.sample > 1 && (nth-1)%opts.sample != opts.offset {
				continue
			}
			m.index = len(out)
			m.text = lineOf(orig, m.line)
			m.fn = funcName(orig, m.line)
			m.mutated, m.desc, m.skipped = mutate(orig, m.typ, m.line, m.col)
			if ignored[f.FileName] && m.skipped == nil {
				m.skipped = fmt.Errorf("%s is not built for %s/%s (build constraints): no test runs it here", f.FileName, runtime.GOOS, runtime.GOARCH)
			}
			out = append(out, m)
		}
	}
	if sub > 0 {
		fmt.Printf("%d mutants of subpackages left out (judge each with its own -pkg)\n", sub)
	}
	return out, nil
}

// ignoredFiles lists the Go files of pkg the build leaves out here.
func ignoredFiles(pkg string) (map[string]bool, error) {
	out, err := exec.Command("go", "list", "-f", "{{range .IgnoredGoFiles}}{{.}}\n{{end}}", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	set := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		set[f] = true
	}
	return set, nil
}

type verdict struct {
	status, detail, killer string
	took                   time.Duration
}

type judged struct {
	m   *mutant
	v   verdict
	err error
}

// worker judges mutants in its own module copy work.
func worker(ctx context.Context, work, pkg string, tests []testPkg, timeout time.Duration, fc *focus, jobs <-chan *mutant, done chan<- judged) {
	for m := range jobs {
		path := filepath.Join(work, pkg, m.file)
		if err := os.WriteFile(path, m.mutated, 0o644); err != nil {
			done <- judged{m: m, err: err}
			return
		}
		t0 := time.Now()
		var v verdict
		if fc != nil {
			v = fc.judge(ctx, work, m.units)
			v.detail += fmt.Sprintf(" (%d tests)", len(m.units))
		} else {
			v = test(ctx, work, dirs(tests), timeout)
		}
		v.took = time.Since(t0)
		if err := os.WriteFile(path, m.orig, 0o644); err != nil {
			done <- judged{m: m, err: err}
			return
		}
		if ctx.Err() != nil { // a run cut short by the interrupt: no verdict
			return
		}
		done <- judged{m: m, v: v}
	}
}

// listMutants prints the mutants of the statuses with their source lines.
func listMutants(rep report, pkg string, statuses []string) error {
	for _, f := range rep.Files {
		if strings.Contains(f.FileName, "/") {
			continue // a subpackage's
		}
		src, err := os.ReadFile(filepath.Join(pkg, f.FileName))
		if err != nil {
			return err
		}
		for _, m := range f.Mutations {
			if contains(statuses, m.Status) {
				fmt.Printf("%-11s %s:%d:%d %s: %s\n", m.Status, f.FileName, m.Line, m.Column, m.Type, strings.TrimSpace(lineOf(src, m.Line)))
			}
		}
	}
	return nil
}

// mutate replaces the operator at line:col (1-based, bytes) as the
// mutant type says.
func mutate(src []byte, typ string, line, col int) ([]byte, string, error) {
	repl, ok := replacements[typ]
	if !ok {
		return nil, "", fmt.Errorf("unknown mutant type")
	}
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return nil, "", fmt.Errorf("no line %d", line)
		}
		off += i + 1
	}
	off += col - 1
	for _, n := range []int{2, 1} { // longest operator first
		if off+n > len(src) {
			continue
		}
		op := string(src[off : off+n])
		if to, ok := repl[op]; ok {
			out := append(append(append([]byte{}, src[:off]...), to...), src[off+n:]...)
			return out, fmt.Sprintf("%s -> %s", op, to), nil
		}
	}
	return nil, "", fmt.Errorf("no operator for %s at %q", typ, string(src[off:min(off+3, len(src))]))
}

// test runs the packages' tests in the module copy.
func test(ctx context.Context, dir string, pkgs []string, timeout time.Duration) verdict {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := command(ctx, "go", append([]string{"test", "-count=1", "-failfast"}, pkgs...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return verdict{status: "TIMED_OUT"}
	case err == nil:
		return verdict{status: "LIVED"}
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return verdict{status: "NOT_VIABLE"}
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return verdict{status: "ERROR", detail: " (" + err.Error() + ")"}
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "--- FAIL: ") {
			k := strings.TrimPrefix(l, "--- FAIL: ")
			return verdict{status: "KILLED", detail: " [" + k + "]", killer: k}
		}
	}
	return verdict{status: "KILLED"}
}

// command is exec.CommandContext in a process group of its own, all of
// which is killed when ctx ends (tests start golive, sshd, sleep ...).
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func lineOf(src []byte, n int) string {
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

func idSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			set[o] = true
		}
	}
	return set
}

// copyModule copies the module's files (not .git) to dst.
func copyModule(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".golive") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
