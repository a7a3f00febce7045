package main

// The cover map of focused judging (-focus): which lines of the mutated
// package each test unit runs, from one covered run per unit on the
// unmutated code. Each test package (-tests) is built once with
// -coverpkg set to the mutated package, so a unit of another package
// counts the mutated package's lines it runs. Subprocesses count too: the
// test binary, when testscript runs it as a command, writes its coverage
// to GOCOVERDIR, and golivetest.Build builds a covered golive binary when
// GOLIVE_BUILD_COVERPKG is set.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
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
// subtest of a split test: "TestScripts/name"; "sqlite:TestX" for a test
// of another package, see testpkgs.go) runs.
type coverMap struct {
	Fingerprint string             // of the module's code and tests when made
	Tests       []string           `json:",omitempty"` // the test packages (-tests); none: the package's own
	Units       map[string][]block // unit -> blocks of the mutated package it runs
	Seconds     map[string]float64 // how long each unit took, covered
	Failed      []string           // units failing on the unmutated code: not used
}

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

// testsKey is what a cover map records of the test packages: nothing for
// the package's own tests alone (as maps made before -tests existed).
func (f *focus) testsKey() []string {
	if len(f.tests) == 1 && f.tests[0].label == "" {
		return nil
	}
	return dirs(f.tests)
}

// loadOrBuildMap reads the cover map from path, or, when there is none or
// it was made from other code or for other test packages, makes it and
// saves it there.
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
			switch {
			case cm.Fingerprint != fp:
				fmt.Printf("cover map %s was made from other code: making it again\n", path)
			case !reflect.DeepEqual(cm.Tests, f.testsKey()):
				fmt.Printf("cover map %s was made with the tests of %v: making it again\n", path, cm.Tests)
			default:
				f.cm = cm
				return nil
			}
		}
	}
	cm, err := f.buildMap(ctx, works)
	if err != nil {
		return err
	}
	cm.Fingerprint, cm.Tests = fp, f.testsKey()
	f.cm = cm
	if path != "" {
		data, _ := json.Marshal(cm)
		return os.WriteFile(path, data, 0o644)
	}
	return nil
}

// unitRun is one unit to run covered: its name, package and test binary.
type unitRun struct {
	name string
	tp   testPkg
	bin  string
}

// buildMap runs each unit of every test package once, covered, on the
// unmutated code; the units are shared among the module copies (one run
// at a time in each).
func (f *focus) buildMap(ctx context.Context, works []string) (*coverMap, error) {
	var units []unitRun
	for i, tp := range f.tests {
		bin := filepath.Join(works[0], fmt.Sprintf(".cover%d.test", i))
		build := exec.Command("go", "test", "-c", "-cover", "-covermode=set", "-coverpkg="+f.importPath, "-o", bin, tp.dir)
		build.Dir = works[0]
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building covered tests of %s: %v\n%s", tp.dir, err, out)
		}
		names, err := f.units(works[0], tp, bin)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			units = append(units, unitRun{n, tp, bin})
		}
	}
	cm := &coverMap{Units: map[string][]block{}, Seconds: map[string]float64{}}
	type result struct {
		unit   string
		blocks []block
		ok     bool
		took   time.Duration
		err    error
	}
	next, results := make(chan unitRun), make(chan result)
	for _, w := range works {
		go func() {
			for u := range next {
				t0 := time.Now()
				blocks, ok, err := f.coverUnit(ctx, w, u)
				results <- result{u.name, blocks, ok, time.Since(t0), err}
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

// units lists the unit names of tp's tests, with the split tests
// (-subtests, keyed by unit name) replaced by their subtests.
func (f *focus) units(work string, tp testPkg, bin string) ([]string, error) {
	cmd := exec.Command(bin, "-test.list", "^Test")
	cmd.Dir = filepath.Join(work, tp.dir)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing tests of %s: %v", tp.dir, err)
	}
	var units []string
	for _, name := range strings.Fields(string(out)) {
		unit := tp.unitName(name)
		dir, split := f.splits[unit]
		if !split {
			units = append(units, unit)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(work, tp.dir, dir, "*.txtar"))
		for _, file := range files {
			units = append(units, unit+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"))
		}
	}
	return units, nil
}

// runPattern is the -test.run pattern of one unit (without its package's
// label).
func runPattern(unit string) string {
	_, test := splitUnit(unit)
	top, sub, ok := strings.Cut(test, "/")
	if !ok {
		return "^" + regexp.QuoteMeta(top) + "$"
	}
	return "^" + regexp.QuoteMeta(top) + "$/^" + regexp.QuoteMeta(sub) + "$"
}

// coverUnit runs one unit on the unmutated code, in its package's
// directory of the module copy work, and returns the blocks of the
// mutated package it ran, and whether it passed.
func (f *focus) coverUnit(ctx context.Context, work string, u unitRun) ([]block, bool, error) {
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
	cmd := command(ctx, u.bin, "-test.run", runPattern(u.name), "-test.count=1",
		"-test.coverprofile="+prof, "-test.gocoverdir="+own)
	cmd.Dir = filepath.Join(work, u.tp.dir)
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
