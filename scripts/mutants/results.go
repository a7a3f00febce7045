package main

// Results (-out) and re-used verdicts (-carry).
//
// -out writes every verdict as JSON, rewritten (atomically) after each
// one: "complete" is false until the last. -carry OLD.json keeps the
// verdict of a mutant recorded in OLD.json when ALL of these are the same
// now as then:
//
//   - the file (name within the package), the text of the mutated line
//     (byte for byte, indentation included), the column and the mutant
//     type;
//   - the function around the line (its name, with its receiver type);
//   - the set of test units that run the line (from the cover map of the
//     code as it is now; compared by a hash of the sorted names).
//
// The line number may differ (lines added above it). When several records
// match (the same line twice in one function), the verdict is carried only
// if they all agree. Survivors (LIVED, NOT_COVERED) are never carried:
// they are few, and a new or stronger test may kill them now. NOT
// re-judged by this rule: a KILLED (or TIMED_OUT, NOT_VIABLE) mutant whose
// line and covering tests' names are unchanged but whose verdict depends
// on code elsewhere that changed (another line of the function, a helper),
// or on a test whose body got weaker: name those with -rejudge
// file:line:col, or judge without -carry. A carried record keeps its first
// judgement's date ("judged_at") and says "carried": true.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type record struct {
	File      string  `json:"file"`
	Line      int     `json:"line"`
	Column    int     `json:"column"`
	Type      string  `json:"type"`
	Func      string  `json:"func"`
	Text      string  `json:"text"`
	Mutation  string  `json:"mutation,omitempty"`
	Status    string  `json:"status"`
	Killer    string  `json:"killer,omitempty"` // the (innermost) failing test
	Detail    string  `json:"detail,omitempty"`
	Units     int     `json:"units"`      // test units that run the line
	UnitsHash string  `json:"units_hash"` // sha256 of their sorted names, 16 hex digits
	Seconds   float64 `json:"seconds"`    // judging time (0 if carried)
	JudgedAt  string  `json:"judged_at"`
	Carried   bool    `json:"carried,omitempty"`
	index     int
}

type summary struct {
	Killed     int     `json:"killed"`
	Lived      int     `json:"lived"`
	NotCovered int     `json:"not_covered"`
	TimedOut   int     `json:"timed_out"`
	NotViable  int     `json:"not_viable"`
	Skipped    int     `json:"skipped"`
	Carried    int     `json:"carried"`
	Judged     int     `json:"judged"` // all but not viable and skipped
	Score      float64 `json:"score"`  // percent killed (timed out counts as killed)
}

type results struct {
	Package    string   `json:"package"`
	ImportPath string   `json:"import_path,omitempty"`
	Report     string   `json:"report"`
	Source     string   `json:"source"` // git commit of the module judged (+dirty)
	Command    string   `json:"command"`
	Started    string   `json:"started"`
	Updated    string   `json:"updated"`
	Complete   bool     `json:"complete"`
	Summary    summary  `json:"summary"`
	Mutants    []record `json:"mutants"`
}

func newResults(pkg, report string) *results {
	return &results{Package: pkg, Report: report, Source: gitSource(), Command: strings.Join(os.Args[1:], " "),
		Started: time.Now().UTC().Format(time.RFC3339)}
}

func gitSource() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	src := strings.TrimSpace(string(out))
	if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(st) > 0 {
		src += "+dirty"
	}
	return src
}

func unitsHash(units []string) string {
	u := append([]string(nil), units...)
	sort.Strings(u)
	sum := sha256.Sum256([]byte(strings.Join(u, "\n")))
	return hex.EncodeToString(sum[:8])
}

func (r *results) record(m *mutant) record {
	return record{File: m.file, Line: m.line, Column: m.col, Type: m.typ, Func: m.fn, Text: m.text, Mutation: m.desc,
		Units: len(m.units), UnitsHash: unitsHash(m.units), index: m.index}
}

// add records a verdict reached now and prints it.
func (r *results) add(m *mutant, v verdict) {
	rec := r.record(m)
	rec.Status, rec.Killer = v.status, v.killer
	if v.status == "NOT_VIABLE" || v.status == "SKIPPED" || v.status == "ERROR" {
		rec.Detail = strings.TrimSpace(v.detail)
	}
	rec.Seconds = v.took.Round(100 * time.Millisecond).Seconds()
	rec.JudgedAt = time.Now().UTC().Format(time.RFC3339)
	r.insert(rec)
	if v.status == "SKIPPED" {
		fmt.Printf("SKIPPED   %s %s: %s\n", m.id(), m.typ, v.detail)
		return
	}
	fmt.Printf("%-9s %s %s (was %s) %s: %s%s [%s]\n", v.status, m.id(), m.typ, m.was, m.desc,
		strings.TrimSpace(m.text), v.detail, v.took.Round(time.Second))
}

// carry records a verdict of an earlier run and prints it.
func (r *results) carry(m *mutant, old record) {
	rec := r.record(m)
	rec.Status, rec.Killer, rec.Detail, rec.JudgedAt, rec.Carried = old.Status, old.Killer, old.Detail, old.JudgedAt, true
	r.insert(rec)
	fmt.Printf("%-9s %s %s %s: %s (carried, judged %s)\n", old.Status, m.id(), m.typ, m.desc, strings.TrimSpace(m.text), old.JudgedAt)
}

func (r *results) insert(rec record) {
	i := sort.Search(len(r.Mutants), func(i int) bool { return r.Mutants[i].index > rec.index })
	r.Mutants = append(r.Mutants, record{})
	copy(r.Mutants[i+1:], r.Mutants[i:])
	r.Mutants[i] = rec
}

func (r *results) summarize() summary {
	var s summary
	for _, m := range r.Mutants {
		switch m.Status {
		case "KILLED":
			s.Killed++
		case "LIVED":
			s.Lived++
		case "NOT_COVERED":
			s.NotCovered++
		case "TIMED_OUT":
			s.TimedOut++
		case "NOT_VIABLE":
			s.NotViable++
		case "SKIPPED":
			s.Skipped++
		}
		if m.Carried {
			s.Carried++
		}
	}
	s.Judged = s.Killed + s.Lived + s.NotCovered + s.TimedOut
	if s.Judged > 0 {
		s.Score = float64(int(1000*float64(s.Killed+s.TimedOut)/float64(s.Judged)+0.5)) / 10
	}
	return s
}

// save writes the results to path (nothing if path is empty), atomically.
func (r *results) save(path string) error {
	if path == "" {
		return nil
	}
	r.Updated = time.Now().UTC().Format(time.RFC3339)
	r.Summary = r.summarize()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (r *results) printSummary() {
	s := r.summarize()
	fmt.Printf("summary %s: killed %d, lived %d, not covered %d, timed out %d, not viable %d, skipped %d (carried %d)\n", r.Package,
		s.Killed, s.Lived, s.NotCovered, s.TimedOut, s.NotViable, s.Skipped, s.Carried)
	if s.Judged > 0 {
		fmt.Printf("score %s: %.1f%% (%d of %d killed)\n", r.Package, s.Score, s.Killed+s.TimedOut, s.Judged)
	}
}

// carried holds a recorded run's verdicts by carry key.
type carried struct{ byKey map[string][]record }

func carryKey(file, text string, col int, typ, fn, units string) string {
	return strings.Join([]string{file, text, fmt.Sprint(col), typ, fn, units}, "\x00")
}

func loadCarry(path string) (*carried, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		fmt.Printf("-carry %s: no such file, nothing carried\n", path)
		return &carried{byKey: map[string][]record{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var old results
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &carried{byKey: map[string][]record{}}
	for _, r := range old.Mutants {
		if r.Status == "SKIPPED" || r.Status == "ERROR" || r.Status == "" {
			continue
		}
		k := carryKey(r.File, r.Text, r.Column, r.Type, r.Func, r.UnitsHash)
		c.byKey[k] = append(c.byKey[k], r)
	}
	return c, nil
}

// find returns the recorded verdict of m, if the carry rule holds.
// Survivors (LIVED, NOT_COVERED) are never carried.
func (c *carried) find(m *mutant) (record, bool) {
	recs := c.byKey[carryKey(m.file, m.text, m.col, m.typ, m.fn, unitsHash(m.units))]
	if len(recs) == 0 || recs[0].Status == "LIVED" || recs[0].Status == "NOT_COVERED" {
		return record{}, false
	}
	for _, r := range recs[1:] {
		if r.Status != recs[0].Status {
			return record{}, false
		}
	}
	return recs[0], true
}

// showResults prints a results file's survivors (lived, not covered) with
// their lines, and its summary.
func showResults(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, m := range r.Mutants {
		if m.Status == "LIVED" || m.Status == "NOT_COVERED" {
			carried := ""
			if m.Carried {
				carried = " (carried)"
			}
			fmt.Printf("%-11s %s:%d:%d %s %s in %s: %s%s\n", m.Status, m.File, m.Line, m.Column, m.Type, m.Mutation, m.Func,
				strings.TrimSpace(m.Text), carried)
		}
	}
	s := r.summarize()
	state := "complete"
	if !r.Complete {
		state = "NOT complete"
	}
	fmt.Printf("%s (%s, source %s, %s): %d mutants, killed %d, timed out %d, lived %d, not covered %d, not viable %d, skipped %d, carried %d; score %.1f%% (%d of %d)\n",
		r.Package, state, r.Source, r.Updated, len(r.Mutants), s.Killed, s.TimedOut, s.Lived, s.NotCovered, s.NotViable, s.Skipped,
		s.Carried, s.Score, s.Killed+s.TimedOut, s.Judged)
	return nil
}
