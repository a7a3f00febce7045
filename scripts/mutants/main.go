// Command mutants judges mutants listed in a gremlins JSON report, one at a
// time, on a copy of the module: it applies each and runs the package's
// tests against it. Give it the report of a dry run (`gremlins unleash
// --dry-run -o report.json PKG`) and -status 'RUNNABLE,NOT COVERED' to judge
// every mutant, or the report of a real gremlins run to judge again what
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
//	go run ./scripts/mutants -report report.json -pkg ./internal/engine [-status ...] [-list]
//
// It prints one line per mutant and a summary; it never changes the
// module it is run from. See docs/architecture.md, "Tests that bite".
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
	"path/filepath"
	"strings"
	"time"
)

var opts struct {
	focus                    bool
	coverMap, subtests, only string
	sample, offset           int
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
	flag.StringVar(&opts.coverMap, "covermap", "", "with -focus: file caching the map test -> lines it runs")
	flag.StringVar(&opts.subtests, "subtests", "", "with -focus: tests whose subtests are judged one by one, as Test=dir of *.txtar, comma-separated")
	flag.IntVar(&opts.sample, "sample", 1, "judge every Nth mutant only (the 1st, N+1th, ... in report order)")
	flag.IntVar(&opts.offset, "offset", 0, "with -sample N: start at the mutant after the first OFFSET (0 <= OFFSET < N)")
	flag.StringVar(&opts.only, "only", "", "judge only these mutants: file:line:col, comma-separated")
	flag.Parse()
	if *rep == "" || *pkg == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*rep, *pkg, strings.Split(*statuses, ","), *timeout, *list); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func run(repPath, pkg string, statuses []string, timeout time.Duration, list bool) error {
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
	work, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := copyModule(".", work); err != nil {
		return err
	}
	var fc *focus
	if opts.focus {
		if fc, err = newFocus(work, pkg, timeout); err != nil {
			return err
		}
	}
	only := map[string]bool{}
	for _, o := range strings.Split(opts.only, ",") {
		if o = strings.TrimSpace(o); o != "" {
			only[o] = true
		}
	}
	counts := map[string]int{}
	nth := 0
	for _, f := range rep.Files {
		path := filepath.Join(work, pkg, f.FileName)
		orig, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range f.Mutations {
			if !contains(statuses, m.Status) {
				continue
			}
			if len(only) > 0 && !only[fmt.Sprintf("%s:%d:%d", f.FileName, m.Line, m.Column)] {
				continue
			}
			nth++
			if opts.sample > 1 && (nth-1)%opts.sample != opts.offset {
				continue
			}
			mutated, desc, err := mutate(orig, m.Type, m.Line, m.Column)
			if err != nil {
				fmt.Printf("SKIPPED   %s:%d:%d %s: %v\n", f.FileName, m.Line, m.Column, m.Type, err)
				counts["SKIPPED"]++
				continue
			}
			if err := os.WriteFile(path, mutated, 0o644); err != nil {
				return err
			}
			var status, detail string
			if fc != nil {
				units := fc.testsFor(f.FileName, orig, m.Line, m.Column)
				status, detail = fc.judge(units)
				detail += fmt.Sprintf(" (%d tests)", len(units))
			} else {
				status, detail = test(work, pkg, timeout)
			}
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				return err
			}
			counts[status]++
			fmt.Printf("%-9s %s:%d:%d %s (was %s) %s: %s%s\n", status, f.FileName, m.Line, m.Column, m.Type, m.Status, desc,
				strings.TrimSpace(lineOf(orig, m.Line)), detail)
		}
	}
	printSummary(pkg, counts)
	return nil
}

func printSummary(pkg string, counts map[string]int) {
	fmt.Printf("summary %s: killed %d, lived %d, not covered %d, timed out %d, not viable %d, skipped %d\n", pkg,
		counts["KILLED"], counts["LIVED"], counts["NOT_COVERED"], counts["TIMED_OUT"], counts["NOT_VIABLE"], counts["SKIPPED"])
	if judged := counts["KILLED"] + counts["TIMED_OUT"] + counts["LIVED"] + counts["NOT_COVERED"]; judged > 0 {
		fmt.Printf("score %s: %.1f%% (%d of %d killed)\n", pkg, 100*float64(counts["KILLED"]+counts["TIMED_OUT"])/float64(judged),
			counts["KILLED"]+counts["TIMED_OUT"], judged)
	}
}

// listMutants prints the mutants of the statuses with their source lines.
func listMutants(rep report, pkg string, statuses []string) error {
	for _, f := range rep.Files {
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

// test runs the package's tests in the module copy.
func test(dir, pkg string, timeout time.Duration) (status, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-failfast", pkg)
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		return "TIMED_OUT", ""
	case err == nil:
		return "LIVED", ""
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return "NOT_VIABLE", ""
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "ERROR", " (" + err.Error() + ")"
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "--- FAIL: ") {
			return "KILLED", " [" + strings.TrimPrefix(l, "--- FAIL: ") + "]"
		}
	}
	return "KILLED", ""
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
