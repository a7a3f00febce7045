package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.env")
	os.WriteFile(file, []byte("# comment\nDB_PASSWORD='from file'\nexport TOKEN=abc\n\n"), 0o600)
	got, err := Load([]string{"GOLIVE_SECRET_DB_PASSWORD=from env", "GOLIVE_SECRET_API=k", "HOME=/root", "GOLIVE_SECRET_="}, file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"DB_PASSWORD": "from file", "API": "k", "TOKEN": "abc"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// A multi-line value (a PEM key) is NAME<<END, its lines as they are,
// then a line END; a value may hold "<<" and "=" after the first "=".
func TestLoadMultiLine(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n\nlast line \\ 'q' \"dq\"\n-----END OPENSSH PRIVATE KEY-----"
	file := filepath.Join(t.TempDir(), "s.env")
	text := "DEPLOY_KEY<<EOF\r\n" + strings.ReplaceAll(key, "\n", "\r\n") + "\r\nEOF\r\nAFTER=a<<b=c\nexport CERT << END_CERT\none\nEND_CERT  \n"
	os.WriteFile(file, []byte(text), 0o600)
	got, err := Load(nil, file)
	if err != nil {
		t.Fatal(err)
	}
	if got["DEPLOY_KEY"] != key || got["AFTER"] != "a<<b=c" || got["CERT"] != "one" || len(got) != 3 {
		t.Fatalf("got %q", got)
	}
}

// Errors name the file, the line and what is wrong, and never quote the
// file's text: a malformed line may be part of a key.
func TestLoadErrors(t *testing.T) {
	if _, err := Load(nil, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: want an error")
	}
	for _, tc := range []struct{ name, text, want string }{
		{"not a pair", "OK=1\nnot a pair\n", ":2: want NAME=VALUE, or NAME<<END then the value's lines up to a line END"},
		{"no name", "=secret-value\n", ":1: a secret without a name: want NAME=VALUE"},
		{"space in name", "OK=1\nDB PASS=x\n", ":2: a secret's name is letters, digits, _, - and ., starting with a letter or _: character 3 of the name is ' '"},
		{"base64 line", "MIIBOgIBAAJB+Kj34GkxFhD9=\n", ":1: a secret's name is letters, digits, _, - and ., starting with a letter or _: character 13 of the name is '+'"},
		{"dash first", "-x=1\n", "character 1 of the name is '-'"},
		{"typo K=<<EOF", "KEY=<<EOF\nb3Bl=\nEOF\n", ":1: a value starting with << after = : for a multi-line value write NAME<<END (no =)"},
		{"quoted marker", "K<<'EOF'\nx\nEOF\n", ":1: want an end marker word after <<"},
		{"dash marker", "K<<-EOF\nx\nEOF\n", ":1: want an end marker word after <<"},
		{"digit first", "1ST=x\n", "character 1 of the name is '1'"},
		{"control", "A\x1b[2J=x\n", "character 2 of the name is U+001B"},
		{"twice", "A=1\n# x\nexport A=2\n", ":3: this secret's name was given on line 1 already (each secret once)"},
		{"heredoc twice", "K<<E\nx\nE\nK=y\n", ":4: this secret's name was given on line 1 already"},
		{"no end marker", "K<<\nx\n", ":1: want an end marker word after <<"},
		{"not closed", "OK=1\nKEY<<EOF\nsecret-line-1\nsecret-line-2\n", ":2: the value started by << is not closed: no line with its end marker after it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad")
			os.WriteFile(file, []byte(tc.text), 0o600)
			_, err := Load(nil, file)
			if err == nil || !strings.HasPrefix(err.Error(), "secrets file "+file+":") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			for _, leak := range []string{"secret-value", "secret-line", "MIIB", "PASS", "\x1b", "b3Bl"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error quotes the file: %q", err)
				}
			}
		})
	}
}

// A file saved with a byte order mark, "export" followed by a tab, and
// names with - and . (which ${{ secrets["db-pass"] }} reaches) load.
func TestLoadEditorsAndNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.env")
	os.WriteFile(file, []byte("\uFEFFFIRST=1\nexport\tTAB=2\ndb-pass=3\napi.key=4\nexportX=5\n"), 0o600)
	got, err := Load(nil, file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"FIRST": "1", "TAB": "2", "db-pass": "3", "api.key": "4", "exportX": "5"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
