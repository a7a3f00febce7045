package main

// The packages whose tests judge the mutants (-tests). By default only the
// mutated package's own (-pkg); -tests ./internal/store,./internal/store/sqlite
// lets other packages of the module judge them too: a package whose code
// is mostly run through another package's tests (internal/store through
// storetest, which internal/store/sqlite's tests run) is judged by those.
//
// Every test unit has a name unique across the packages: the mutated
// package's own tests keep their plain names ("TestX", "TestScripts/x"),
// so cover maps and recorded runs of one package stay as they were; the
// tests of another package get its label as a prefix ("sqlite:TestX"):
// the last element of its directory (./internal/store/sqlite: "sqlite");
// two packages of one name cannot judge together.

import (
	"fmt"
	"path/filepath"
	"strings"
)

// testPkg is one package whose tests judge the mutants.
type testPkg struct {
	dir   string // as given, e.g. "./internal/store/sqlite"
	label string // "" for the mutated package itself, else the units' prefix
}

// parseTests reads -tests (comma-separated package directories) for the
// mutated package pkg; empty means pkg's own tests.
func parseTests(pkg, s string) ([]testPkg, error) {
	own := filepath.Clean(pkg)
	var out []testPkg
	seen := map[string]bool{}
	for _, d := range strings.Split(s, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if strings.ContainsAny(d, ":,") || strings.Contains(d, "...") {
			return nil, fmt.Errorf("-tests: %q: one package directory each, no patterns", d)
		}
		tp := testPkg{dir: d}
		if c := filepath.Clean(d); c != own {
			tp.label = filepath.Base(c)
		}
		if seen[tp.label] {
			return nil, fmt.Errorf("-tests: %q given twice, or another package is named %q too", d, tp.label)
		}
		seen[tp.label] = true
		out = append(out, tp)
	}
	if len(out) == 0 {
		out = []testPkg{{dir: pkg}}
	}
	return out, nil
}

// unitName names test (a test, or "Test/sub") of tp as a unit.
func (tp testPkg) unitName(test string) string {
	if tp.label == "" {
		return test
	}
	return tp.label + ":" + test
}

// splitUnit returns the label of a unit's package and the test's own name
// ("sqlite:TestX/a:b" -> "sqlite", "TestX/a:b"; "TestX" -> "", "TestX").
func splitUnit(unit string) (label, test string) {
	top, _, _ := strings.Cut(unit, "/")
	if l, _, ok := strings.Cut(top, ":"); ok {
		return l, unit[len(l)+1:]
	}
	return "", unit
}

// dirs lists the packages' directories, as given.
func dirs(tests []testPkg) []string {
	var out []string
	for _, tp := range tests {
		out = append(out, tp.dir)
	}
	return out
}
