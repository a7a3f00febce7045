package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
)

// These tests drive the golive binary itself (built once), for what a
// script file cannot say: arguments with newlines, and the real OS user.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func goliveBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "golive-cli-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath, binErr = golivetest.Build(dir)
	})
	if binErr != nil {
		t.Skipf("no golive binary: %v", binErr)
	}
	return binPath
}

// newCLI writes plan into a fresh directory and returns a CLI for it.
func newCLI(t *testing.T, plan string, files map[string]string) *golivetest.CLI {
	t.Helper()
	dir := t.TempDir()
	files["golive.yaml"] = plan
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &golivetest.CLI{T: t, Bin: goliveBinary(t), Dir: dir, Plan: filepath.Join(dir, "golive.yaml"),
		Store: filepath.Join(dir, ".golive", "state.db"), User: "tester", Timeout: time.Minute}
}

func runID(t *testing.T, r golivetest.Result) string {
	t.Helper()
	id := regexp.MustCompile(`r-\d{8}-\d{6}-[0-9a-f]{4}`).FindString(r.Output())
	if id == "" {
		t.Fatalf("no run id in\n%s", r)
	}
	return id
}

// TestAllowSelfComparesOSUsers: the requester cannot approve their own run
// by claiming another name: the OS user recorded beside both names is the
// same (the real uid of this test).
func TestAllowSelfComparesOSUsers(t *testing.T) {
	c := newCLI(t, `golive: 1
name: selfie
targets:
  hosts:
    h1: {transport: local, dir: hosts/h1, roles: [web]}
controls:
  approvals: {required: 1, allow_self: false}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'echo $GOLIVE_RELEASE > current', backout: 'rm -f current'}
`, map[string]string{})
	id := runID(t, c.MustExit(3, "run", "-r", "1.0", "--as", "rita"))
	r := c.MustExit(2, "approve", id, "--as", "alice")
	if !strings.Contains(r.Stderr, "is the same person as the requester rita") || !strings.Contains(r.Stderr, "allow_self is false") {
		t.Fatalf("approving one's own run as alice was not refused as self:\n%s", r)
	}
	st := c.MustExit(0, "status", id)
	if strings.Contains(st.Stdout, "\napprovals:") {
		t.Errorf("a refused approval was recorded:\n%s", st)
	}
	if !regexp.MustCompile(`(?m)^requester +rita \(os user [^)]+\)$`).MatchString(st.Stdout) {
		t.Errorf("status does not show the requester's OS user:\n%s", st)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "hosts/h1/current")); err == nil {
		t.Error("the release went out")
	}
}

// multiline is a --set value that an old journal could not store.
const multiline = "first line\nsecond line = with equals\n\ttabbed third"

const multilinePlan = `golive: 1
name: multi
vars:
  motd: none
targets:
  hosts:
    h1: {transport: local, dir: hosts/h1, roles: [web]}
    h2: {transport: local, dir: hosts/h2, roles: [api]}
%s
stages:
  - name: web
    on: web
    steps:
      - name: motd
        env: {MOTD: '${{ vars.motd }}'}
        run: 'printf "%%s" "$MOTD" > motd'
        backout: 'rm -f motd'
  - name: api
    on: api
    %s
    steps:
      - name: api
        run: 'test ! -e "$FAIL_API" && echo ok > api'
        backout: 'rm -f api'
`

func readFile(t *testing.T, path string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	return string(b), err == nil
}

// TestMultilineSetRecoverable: a run started with a --set value holding
// newlines can be resumed, backed out and aborted; the value comes back
// exactly.
func TestMultilineSetRecoverable(t *testing.T) {
	set := "motd=" + multiline

	t.Run("resume", func(t *testing.T) {
		c := newCLI(t, sprintf(multilinePlan, "controls: {approvals: {required: 1}}", ""), map[string]string{})
		id := runID(t, c.MustExit(3, "run", "-r", "1.0", "--set", set))
		c.MustExit(0, "approve", id, "--as", "alice")
		c.MustExit(0, "resume", id)
		if got, _ := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); got != multiline {
			t.Errorf("motd = %q, want %q", got, multiline)
		}
	})
	t.Run("backout", func(t *testing.T) {
		c := newCLI(t, sprintf(multilinePlan, "backout: {automatic: false}", ""), map[string]string{})
		fail := filepath.Join(c.Dir, "fail-api")
		os.WriteFile(fail, nil, 0o644)
		cmd := append([]string{}, "run", "-r", "1.0", "--set", set)
		r := runWithEnv(c, []string{"FAIL_API=" + fail}, 4, cmd...)
		id := runID(t, r)
		if got, _ := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); got != multiline {
			t.Fatalf("motd = %q before the backout", got)
		}
		c.MustExit(0, "backout", id)
		if _, ok := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); ok {
			t.Error("motd still there after the backout")
		}
	})
	t.Run("abort", func(t *testing.T) {
		c := newCLI(t, sprintf(multilinePlan, "", "gate: {approvals: 1}"), map[string]string{})
		id := runID(t, c.MustExit(3, "run", "-r", "1.0", "--set", set))
		if got, _ := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); got != multiline {
			t.Fatalf("motd = %q at the gate", got)
		}
		c.MustExit(0, "abort", id)
		if _, ok := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); ok {
			t.Error("motd still there after the abort")
		}
	})
}

// TestOverrideSecretsNotStored: a --set value holding a secret is
// journaled with the secret by reference: the state database never holds
// it, logs show ***, and a resume needs the secret given again.
func TestOverrideSecretsNotStored(t *testing.T) {
	const secret = "s3cr3t-Tok3n-9f8e7d6c"
	c := newCLI(t, sprintf(multilinePlan, "controls: {approvals: {required: 1}}", ""), map[string]string{})
	withSecret := []string{"GOLIVE_SECRET_TOKEN=" + secret}
	set := "motd=Bearer " + secret + "\nline two"
	id := runID(t, runWithEnv(c, withSecret, 3, "run", "-r", "1.0", "--set", set))
	for _, f := range []string{"state.db", "state.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(c.Store), f))
		if bytes.Contains(b, []byte(secret[:12])) {
			t.Errorf("%s holds the secret", f)
		}
	}
	logs := runWithEnv(c, withSecret, 0, "logs", id)
	if strings.Contains(logs.Output(), secret[:8]) || !strings.Contains(logs.Stdout, `motd="Bearer ***\nline two"`) {
		t.Errorf("logs:\n%s", logs)
	}
	if rep := c.MustExit(0, "report", id); strings.Contains(rep.Output(), secret[:8]) || !strings.Contains(rep.Stdout, `Bearer \*\*\*`) {
		t.Errorf("report:\n%s", rep)
	}
	if r := c.MustExit(2, "approve", id, "--as", "alice"); !strings.Contains(r.Stderr, "--set motd holds secret TOKEN: give it again") {
		t.Errorf("approve without the secret:\n%s", r)
	}
	runWithEnv(c, withSecret, 0, "approve", id, "--as", "alice")
	r := c.MustExit(2, "resume", id)
	if !strings.Contains(r.Stderr, "--set motd holds secret TOKEN: give it again") {
		t.Errorf("resume without the secret:\n%s", r)
	}
	runWithEnv(c, withSecret, 0, "resume", id)
	if got, _ := readFile(t, filepath.Join(c.Dir, "hosts/h1/motd")); got != "Bearer "+secret+"\nline two" {
		t.Errorf("motd = %q", got)
	}
}

func sprintf(format string, args ...any) string {
	return strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n"
}

// runWithEnv runs golive with extra environment variables and wants exit code.
func runWithEnv(c *golivetest.CLI, env []string, code int, args ...string) golivetest.Result {
	c.T.Helper()
	cmd := c.Command(c.T.Context(), args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := golivetest.Result{Args: args, Took: time.Since(start), Stdout: out.String(), Stderr: errb.String()}
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	if r.Code != code {
		c.T.Fatalf("want exit %d (%v)\n%s", code, err, r)
	}
	return r
}

// TestReportCannotBeForged: a hostile ticket, approval comment, abort
// reason or step output cannot add a heading, HTML or a link to the
// Markdown report, nor close the fence its output sits in. (A value that
// the input rules refuse, exit 2, is replaced by a plain one: refused is
// as good as inert.)
func TestReportCannotBeForged(t *testing.T) {
	c := newCLI(t, `golive: 1
name: md
targets:
  hosts:
    h1: {transport: local, dir: hosts/h1, roles: [web]}
controls:
  approvals: {required: 1}
stages:
  - name: web
    on: web
    steps:
      - name: evil
        run: |
          echo 'normal output'
          echo '`+"```"+`'
          echo '## Forged from output'
          echo '<img src=x onerror=alert(1)> [click](http://evil.example)'
          echo '`+"````"+`'
          echo '# Forged after the fence'
          exit 3
        backout: 'true'
`, map[string]string{})
	r := c.Run("run", "-r", "1.0", "--ticket", "CHG-1\n# Forged ticket heading")
	if r.Code == 2 {
		r = c.MustExit(3, "run", "-r", "1.0", "--ticket", "CHG-1")
	} else if r.Code != 3 {
		t.Fatalf("want exit 3 (waiting) or 2 (refused)\n%s", r)
	}
	id := runID(t, r)
	comment := "ok\n## Forged approval heading\n<script>alert(1)</script> [x](http://evil.example) | cell |"
	if r := c.Run("approve", id, "--as", "alice", "--comment", comment); r.Code == 2 {
		c.MustExit(0, "approve", id, "--as", "alice", "--comment", "<b>bold</b> [x](http://evil.example)")
	} else if r.Code != 0 {
		t.Fatalf("approve: %s", r)
	}
	c.MustExit(1, "resume", id)
	md := c.MustExit(0, "report", id).Stdout
	headings, problems := mdStructure(md)
	want := []string{"# Release report: md 1.0", "## Why it stopped", "## Approvals", "## Stages", "## Hosts", "## Failures", "## Backed out", "## Checks"}
	for _, h := range headings {
		if strings.Contains(h, "Forged") {
			problems = append(problems, "forged heading: "+h)
		}
	}
	if len(problems) > 0 || strings.Join(headings, "|") != strings.Join(want[:len(headings)], "|") {
		t.Errorf("report structure: headings %q, problems %q\n%s", headings, problems, md)
	}
	if !strings.Contains(md, "````` ") && !strings.Contains(md, "`````text") {
		t.Errorf("the output's fence is not longer than its longest backtick run:\n%s", md)
	}
}

// mdStructure reads Markdown as CommonMark would, as far as structure
// goes: the ATX and setext headings outside fenced blocks, and problems:
// raw HTML, links or images outside fences, and a fence left open.
func mdStructure(md string) (headings, problems []string) {
	fenceRE := regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	headingRE := regexp.MustCompile(`^ {0,3}#{1,6}(\s|$)`)
	setextRE := regexp.MustCompile(`^ {0,3}(=+|-+)\s*$`)
	htmlRE := regexp.MustCompile(`(^|[^\\])<[A-Za-z/!?]`)
	linkRE := regexp.MustCompile(`(^|[^\\])\[`)
	fence := ""
	prev := ""
	for _, line := range strings.Split(md, "\n") {
		if fence != "" {
			if strings.HasPrefix(strings.TrimLeft(line, " "), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "" {
				fence = ""
			}
			continue
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			fence = m[1]
			continue
		}
		switch {
		case headingRE.MatchString(line):
			headings = append(headings, strings.TrimSpace(line))
		case setextRE.MatchString(line) && strings.TrimSpace(prev) != "":
			problems = append(problems, "setext heading: "+prev)
		}
		if htmlRE.MatchString(line) {
			problems = append(problems, "raw HTML: "+line)
		}
		if linkRE.MatchString(line) {
			problems = append(problems, "link or image: "+line)
		}
		prev = line
	}
	if fence != "" {
		problems = append(problems, "a fenced block is never closed")
	}
	return headings, problems
}

// controlRE matches a raw control character a terminal would act on (C0
// but \n and \t, DEL, C1 in UTF-8).
var controlRE = regexp.MustCompile(`[\x00-\x08\x0b-\x1f\x7f\x{80}-\x{9f}]`)

// shownEscaped is the window-title escape as golive shows it: \x1b]0;
// (Markdown: \x1b\]0;, JSON: \u001b]0;).
var shownEscaped = regexp.MustCompile(`(\\x1b\\?\]0;|\\u001b\]0;)pwned`)

// TestClaimedNamesPrintedInert: a claimed name, a ticket, a reason and a
// comment holding terminal escapes are printed escaped by every command
// (or refused by the input rules with exit 2: refused is as good as inert,
// as long as the refusal itself prints nothing raw).
func TestClaimedNamesPrintedInert(t *testing.T) {
	c := newCLI(t, `golive: 1
name: inert
targets:
  hosts:
    h1: {transport: local, dir: hosts/h1, roles: [web]}
controls:
  approvals: {required: 1}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'true', backout: 'true'}
`, map[string]string{})
	const title, clear, osc52 = "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x1b]52;c;ZXZpbA==\x07"
	noRaw := func(r golivetest.Result) {
		t.Helper()
		if loc := controlRE.FindStringIndex(r.Output()); loc != nil {
			t.Errorf("raw control character %q printed:\n%s", r.Output()[loc[0]:loc[1]], r)
		}
	}
	r := c.Run("run", "-r", "1.0", "--as", "ev"+title+"il", "--ticket", "CHG-1"+clear)
	noRaw(r)
	switch r.Code {
	case 2:
		r = c.MustExit(3, "run", "-r", "1.0")
	case 3:
	default:
		t.Fatalf("run: want exit 3 or 2\n%s", r)
	}
	id := runID(t, r)
	r = c.Run("approve", id, "--as", "mal"+osc52, "--comment", "fine"+clear)
	noRaw(r)
	r = c.Run("abort", id, "--as", "x"+title, "--reason", "stop"+osc52)
	noRaw(r)
	if r.Code == 2 {
		c.MustExit(0, "abort", id)
	}
	for _, args := range [][]string{{"status", id}, {"status", id, "--json"}, {"history"}, {"logs", id}, {"report", id}, {"report", id, "--json"}} {
		r := c.MustExit(0, args...)
		noRaw(r)
		if strings.Contains(r.Stdout, "pwned") && !shownEscaped.MatchString(r.Stdout) {
			t.Errorf("%v: the escape is not shown escaped:\n%s", args, r)
		}
	}
}
