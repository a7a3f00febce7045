package values

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, ok := range []string{"1", "1.4.2", "1.0.0-rc.1+build.5", "2:1.18.0-6ubuntu14.4~22.04", "2026.11.30", "v2", "a_b", strings.Repeat("9", 128)} {
		if err := Version("-r", ok); err != nil {
			t.Errorf("Version(%q): %v", ok, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", `-r "": it is empty`},
		{`1.0"; touch /tmp/x; echo "`, `character '"' at position 4`},
		{"1.0$(id)", `character '$' at position 4`},
		{"1.0`id`", "character '`' at position 4"},
		{"1.0\nid", `character \n at position 4`},
		{"1.0\x1b]52;c;aGk=\a", `character \x1b at position 4`},
		{"1.0\x00", `character \x00 at position 4`},
		{"-rf", `character '-' at position 1`},
		{"../x", `character '.' at position 1`},
		{"1/../../x", `character '/' at position 2`},
		{"1.0 2", `character ' ' at position 4`},
		{"1.0'", `character "'" at position 4`},
		{"1.\xff", `character \xff at position 3`},
		{"é", `character 'é' at position 1`},
		{"1\u202e", `character \u202e at position 2`},
		{strings.Repeat("9", 129), "it is 129 characters long"},
		{strings.Repeat("9", 10240), `"9999999999999999999999999999999999999999999999999999999999999999"... (10240 bytes)`},
	} {
		err := Version("-r", c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Version(%s) = %v, want %q", Quote(c.in), err, c.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n\a") {
			t.Errorf("Version(%q): error has control characters: %q", c.in, err)
		}
	}
}

func TestTicketActorName(t *testing.T) {
	for _, ok := range []string{"CHG-123", "JIRA#42", "ops/2026:11", "a.b_c"} {
		if err := Ticket("--ticket", ok); err != nil {
			t.Errorf("Ticket(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"CHG 1", "CHG-1;id", "x$y", strings.Repeat("A", 65), "", "CHG\n1"} {
		if Ticket("--ticket", bad) == nil {
			t.Errorf("Ticket(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"alice", "alice@example.com", "ci-bot.2", "Bob_B"} {
		if err := Actor("--as", ok); err != nil {
			t.Errorf("Actor(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"-alice", "@x", "al ice", "alice\x1b[2J", "a+b", strings.Repeat("a", 129)} {
		if Actor("--as", bad) == nil {
			t.Errorf("Actor(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"web1$(touch${IFS}/tmp/p)", "-web", ".web", "web 1", "web/1", "fe80::1"} {
		if IsName(bad) {
			t.Errorf("IsName(%q)", bad)
		}
	}
	for _, ok := range []string{"10.0.0.1", "fe80::1%eth0", "web-1.example.com", "::1"} {
		if err := Address("address", ok); err != nil {
			t.Errorf("Address(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"-oProxyCommand=x", "a b", "a;b", "$(id)", "[::1]"} {
		if Address("address", bad) == nil {
			t.Errorf("Address(%q) accepted", bad)
		}
	}
}

func TestText(t *testing.T) {
	if err := Text("--reason", "it's \"fine\"; $(x) `y`\nline two\t\x1b[31m", MaxText); err != nil {
		t.Errorf("Text: %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{"a\x00b", `character \x00 at position 2`},
		{"a\xffb", `character \xff at position 2`},
		{strings.Repeat("x", MaxText+1), "4097 bytes long"},
	} {
		if err := Text("--reason", c.in, MaxText); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Text(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	if err := NoControl("upload.to", "/srv/a\nb"); err == nil || !strings.Contains(err.Error(), `\n at position 7`) {
		t.Errorf("NoControl = %v", err)
	}
}

// TestAcceptedVersionsAreInertWords: a version the rule accepts, put
// unquoted into a sh command as a word of its own, is that word: nothing
// expands, splits or runs.
func TestAcceptedVersionsAreInertWords(t *testing.T) {
	var script strings.Builder
	var accepted []string
	for _, v := range []string{"1.0", "1:2~3", "a~b", "1+2", "1_2-3", "9:~root", "v1..", "0-", "A.B:C_D+E~F-G", "1~-1", "1:~"} {
		if Version("-r", v) != nil {
			t.Fatalf("Version(%q) refused", v)
		}
		accepted = append(accepted, v)
		script.WriteString("printf '%s\\n' " + v + "\n")
	}
	out, err := exec.Command("/bin/sh", "-c", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(got, " ") != strings.Join(accepted, " ") {
		t.Errorf("sh read %q, want %q", got, accepted)
	}
}

func TestErrorJSON(t *testing.T) {
	err := Ticket("ticket", "CHG\x1b1")
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("%v is not an *Error", err)
	}
	b, jerr := json.Marshal(e)
	want := `{"input":"ticket","value":"\"CHG\\x1b1\"","position":4,"character":"\\x1b","rule":"a ticket id is 1 to 64 characters of A-Z a-z 0-9 . _ # / : -","message":"ticket \"CHG\\x1b1\": character \\x1b at position 4 is not allowed: a ticket id is 1 to 64 characters of A-Z a-z 0-9 . _ # / : -"}`
	if jerr != nil || string(b) != want {
		t.Errorf("JSON = %s (%v)\nwant   %s", b, jerr, want)
	}
}
