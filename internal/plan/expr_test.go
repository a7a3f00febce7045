package plan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	scope := &Scope{
		Release: map[string]any{"version": "1.2", "previous": ""},
		Host:    map[string]any{"name": "web-1", "roles": []string{"web", "canary"}, "vars": map[string]any{"w": "2"}},
		Vars:    map[string]string{"dir": "/srv"}, Env: map[string]string{"HOME": "/root"},
		Secrets: map[string]string{"PW": "pw"}, Batch: map[string]any{"index": 3},
	}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"${{ vars.dir }}/releases/${{ release.version }}", "/srv/releases/1.2"},
		{"${{release.previous}}", ""},
		{"${{ host.roles }}", "web,canary"},
		{"${{ host.vars.w }} ${{ batch.index }}", "2 3"},
		{"${{ env.HOME }} ${{ env.NOPE ?? '' }}.", "/root ."},
		{"${{ host.vars.missing ?? 'd' }}", "d"},
		{"${{ upper(host.name) }}", "WEB-1"},
		{"${{ release.version == '1.2' ? 'new' : 'old' }}", "new"},
		{"pw=${{ secrets.PW }}", "pw=pw"},
	} {
		got, err := Render(tc.in, scope)
		if err != nil || got != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := Render("${{ secrets.MISSING }}", scope); err == nil || !strings.Contains(err.Error(), "GOLIVE_SECRET_MISSING") {
		t.Errorf("missing secret: %v", err)
	}
	for code, want := range map[string]string{
		"rm -rf ${{ env.NOPE }}/x": "env.NOPE: NOPE is not set",
		"${{ host.vars.port }}":    "host.vars.port: host web-1 has no var port",
	} {
		if _, err := Render(code, scope); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Render(%q): %v, want %q", code, err, want)
		}
	}
	if ok, err := EvalBool("env.NOPE == 'x'", scope); err != nil || ok {
		t.Errorf("conditions read a missing env as nil: %v %v", ok, err)
	}
	if _, err := Render("${{ release.version", scope); err == nil {
		t.Error("unclosed expression: want an error")
	}
}

func TestEvalBool(t *testing.T) {
	scope := &Scope{Host: map[string]any{"name": "h2"}, Result: 0.5}
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`host.name == "h2"`, true}, {`${{ host.name == "h1" }}`, false}, {"result < 1", true},
	} {
		got, err := EvalBool(tc.in, scope)
		if err != nil || got != tc.want {
			t.Errorf("EvalBool(%q) = %v, %v", tc.in, got, err)
		}
	}
	if _, err := EvalBool("host.name", scope); err == nil || !strings.Contains(err.Error(), "not true or false") {
		t.Errorf("non-boolean condition: %v", err)
	}
}

func TestCheckNames(t *testing.T) {
	vars := map[string]bool{"dir": true}
	for code, want := range map[string]string{
		"vars.dir":             "",
		"host.vars.anything":   "",
		"env.WHATEVER":         "",
		"vars.nope":            "unknown variable vars.nope",
		"release.versoin":      "unknown name release.versoin",
		"relase.version":       `unknown name "relase"`,
		"run.id + stage.name":  "",
		"result > 1":           `unknown name "result"`,
		"len(host.roles) > 1 ": "",
	} {
		err := CheckNames(code, vars, false)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", code, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want %q", code, err, want)
		}
	}
}

func TestShellFunction(t *testing.T) {
	scope := &Scope{Vars: map[string]string{"v": `it's $(touch /tmp/x) "q"`}, Env: map[string]string{"E": "a'b"},
		Host: map[string]any{"roles": []string{"web", "db"}}}
	for _, c := range []struct{ in, want string }{
		{`x ${{ shell(vars.v) }}`, `x 'it'\''s $(touch /tmp/x) "q"'`},
		{`${{ shell(env.E) }}`, `'a'\''b'`},
		{`${{ shell(host.roles) }}`, `'web,db'`},
		{`${{ shell("") }}`, `''`},
	} {
		got, err := Render(c.in, scope)
		if err != nil || got != c.want {
			t.Errorf("Render(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if err := CheckTemplate(`${{ shell(vars.v) }}`, map[string]bool{"v": true}); err != nil {
		t.Errorf("shell() is not known to the checker: %v", err)
	}
	for _, bad := range []string{`${{ shell() }}`, `${{ shell(vars.v, vars.v) }}`, `${{ sh(vars.v) }}`} {
		if err := CheckTemplate(bad, map[string]bool{"v": true}); err == nil {
			t.Errorf("CheckTemplate(%q) accepted", bad)
		}
	}
}

// TestShellQuoteRoundTrip runs sh on each rendered value: the word it
// reads back is the value, byte for byte, and nothing ran.
func TestShellQuoteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	for _, v := range hostileWords(canary) {
		script := "printf %s " + ShellQuote(v)
		out, err := exec.Command("/bin/sh", "-c", script).Output()
		if err != nil || string(out) != v {
			t.Errorf("sh read %q back as %q (%v)", v, out, err)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a quoted value ran a command")
	}
}

func hostileWords(canary string) []string {
	return []string{`'`, `''`, `'\''`, `"`, `$(touch ` + canary + `)`, "`touch " + canary + "`", `; touch ` + canary,
		"a\nb", `\`, `$HOME`, `${IFS}`, `*`, `-rf`, `' ; touch ` + canary + ` ; '`, "\x1b[2J", "\t", "!", "~root", "a b"}
}
