package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
)

// golive is the binary TestMain built.
var golive string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if _, err := exec.LookPath("sh"); err != nil {
		fmt.Println("hostile: skipped: no sh on PATH")
		return 0
	}
	dir, err := os.MkdirTemp("", "golive-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if golive, err = golivetest.Build(dir); err != nil {
		fmt.Println("hostile: skipped:", err)
		return 0
	}
	return m.Run()
}

// value is one hostile value with a name for the test's output.
type value struct {
	name, v string
}

// hostileValues are the values every input path is tried with. Each that
// could run a command would create canary.
func hostileValues(canary string) []value {
	touch := "touch " + canary
	return []value{
		{"single quote", "'"},
		{"double quote", `"`},
		{"double quote breakout", `1.0"; ` + touch + `; echo "`},
		{"single quote breakout", `' ; ` + touch + ` ; '`},
		{"escaped quote breakout", `'\'' ; ` + touch + ` ; '\''`},
		{"command substitution", "$(" + touch + ")"},
		{"backticks", "`" + touch + "`"},
		{"semicolon", "; " + touch},
		{"and", "&& " + touch},
		{"pipe", "| " + touch},
		{"redirect", "> " + canary},
		{"newline", "1.0\n" + touch},
		{"carriage return", "1.0\r" + touch},
		{"tab", "a\tb"},
		{"ANSI clear screen", "\x1b[2J\x1b[H"},
		{"OSC 52 clipboard", "\x1b]52;c;dG91Y2ggL3RtcC9wd24=\x07"},
		{"OSC title", "\x1b]0;pwned\x1b\\"},
		{"C1 CSI", "\u009b31m"},
		{"DEL", "a\x7fb"},
		{"dot dot slash", "../../../etc/passwd"},
		{"leading dash", "-rf"},
		{"double dash option", "--help"},
		{"10 KB", strings.Repeat("A", 10<<10)},
		{"10 KB of quotes", strings.Repeat(`'"`, 5<<10)},
		{"IFS", "a${IFS}b"},
		{"parameter", "$HOME"},
		{"arithmetic", "$((6*7))"},
		{"glob", "*"},
		{"brace expansion", "{a,b}"},
		{"tilde", "~root"},
		{"backslash", `a\`},
		{"history", "!!"},
		{"ANSI-C quoting", `$'\x41'`},
		{"format verbs", "%n%s%x"},
		{"html", "<script>alert(1)</script>"},
		{"RTL override", "a\u202eb"},
		{"zero width space", "a\u200bb"},
		{"emoji", "\U0001F680"},
		{"empty", ""},
		{"spaces only", "   "},
		{"hash comment", "# " + touch},
		{"yaml special", "&anchor *alias"},
		{"expression", "${{ secrets.X }}"},
	}
}

// nonUTF8 is a value that is not text; it can be given on a command line.
var nonUTF8 = value{"not UTF-8", "1.0\xff\xfe"}

// workspace is one test's directory: a plan on local hosts, its store and
// a canary any injected command would create.
type workspace struct {
	t      *testing.T
	dir    string
	canary string
	cli    *golivetest.CLI
}

func newWorkspace(t *testing.T, planText string, files map[string]string) *workspace {
	t.Helper()
	dir := t.TempDir()
	w := &workspace{t: t, dir: dir, canary: filepath.Join(dir, "canary")}
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("golive.yaml", planText)
	for name, text := range files {
		write(name, text)
	}
	w.cli = &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: filepath.Join(dir, "golive.yaml"),
		Store: filepath.Join(dir, ".golive", "state.db"), User: "tester", Timeout: 2 * time.Minute}
	return w
}

// run runs golive with extra environment variables (NAME=VALUE).
func (w *workspace) run(env []string, args ...string) golivetest.Result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), w.cli.Timeout)
	defer cancel()
	cmd := w.cli.Command(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := golivetest.Result{Args: args, Took: time.Since(start), Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		r.Code = ee.ExitCode()
	case err != nil:
		w.t.Fatalf("golive: %v\n%s", err, r)
	}
	return r
}

// validate runs golive validate on the plan (it takes no --store).
func (w *workspace) validate() golivetest.Result {
	w.t.Helper()
	cmd := exec.Command(golive, "validate", w.cli.Plan)
	cmd.Dir, cmd.Env = w.dir, w.cli.Env()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := golivetest.Result{Args: []string{"validate"}, Stdout: out.String(), Stderr: errOut.String()}
	if err != nil {
		w.t.Fatalf("validate: %v\n%s", err, r)
	}
	return r
}

func (w *workspace) mustExit(code int, env []string, args ...string) golivetest.Result {
	w.t.Helper()
	r := w.run(env, args...)
	if r.Code != code {
		w.t.Fatalf("want exit %d\n%s", code, short(r))
	}
	return r
}

// noCanary fails the test if an injected command ran.
func (w *workspace) noCanary() {
	w.t.Helper()
	if _, err := os.Stat(w.canary); !errors.Is(err, os.ErrNotExist) {
		w.t.Fatalf("an injected command ran: %s exists", w.canary)
	}
}

// runs is what `golive history --json` lists.
func (w *workspace) runs() []map[string]any {
	w.t.Helper()
	r := w.mustExit(0, nil, "history", "--json", "--limit", "1000")
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		w.t.Fatalf("history --json: %v\n%s", err, r.Stdout)
	}
	return out
}

// readOut reads a file a step wrote in a host's directory.
func (w *workspace) readOut(host, name string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "hosts", host, "out", name))
	if err != nil {
		w.t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// short describes a result without 10 KB of arguments.
func short(r golivetest.Result) string {
	var args []string
	for _, a := range r.Args {
		if len(a) > 80 {
			a = fmt.Sprintf("%.80q...(%d bytes)", a, len(a))
		}
		args = append(args, a)
	}
	r.Args = args
	if len(r.Stderr) > 4000 {
		r.Stderr = r.Stderr[:4000] + "..."
	}
	if len(r.Stdout) > 4000 {
		r.Stdout = r.Stdout[:4000] + "..."
	}
	return r.String()
}

// controlFree reports whether s has no control characters but newline
// (what golive prints about a refused value must be safe on a terminal).
func controlFree(s string) bool {
	for _, c := range s {
		if c != '\n' && (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			return false
		}
	}
	return true
}
