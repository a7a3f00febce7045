package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, üñíçødé ✔\n\tok":      "plain text, üñíçødé ✔\n\tok",
		"\x1b[2J\x1b[H clear":              `\x1b[2J\x1b[H clear`,
		"\x1b]0;pwned\x07 title":           `\x1b]0;pwned\x07 title`,
		"\x1b]52;c;ZXZpbA==\x07 clipboard": `\x1b]52;c;ZXZpbA==\x07 clipboard`,
		"a\rb":                             `a\rb`,
		"del\x7f":                          `del\u007f`,
		"c1 \u009b2J csi":                  `c1 \u009b2J csi`,
		"c1 \u0085 nel":                    `c1 \u0085 nel`,
		"bad \xff\xfe utf8 \xc3":           `bad \xff\xfe utf8 \xc3`,
		"bidi \u202egnp.exe":               `bidi \u202egnp.exe`,
		"nul \x00":                         `nul \x00`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Line("a\nb\tc\x1b"); got != `a\nb\tc\x1b` {
		t.Errorf("Line = %q", got)
	}
}

// TestWriter: a character split across writes stays whole; a control
// split across writes is still escaped; JSON through the writer stays JSON
// with the same meaning.
func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, p := range []string{"caf\xc3", "\xa9 \x1b", "[31m red \xe2\x80", "\xae\n", "end \xf0\x9f"} {
		w.Write([]byte(p))
	}
	w.Flush()
	if want := `café \x1b[31m red ` + "\u202e" + "\n"; !strings.HasPrefix(out.String(), strings.Replace(want, "\u202e", `\u202e`, 1)) {
		t.Errorf("got %q", out.String())
	}
	if !strings.HasSuffix(out.String(), `end \xf0\x9f`) {
		t.Errorf("unfinished character at the end: got %q", out.String())
	}

	out.Reset()
	v := map[string]string{"x": "\x1b]0;t\x07 \x7f \u009b \u202e \xff é"}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	var back map[string]string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("JSON through the writer is no longer JSON: %v\n%s", err, out.String())
	}
	if back["x"] != "\x1b]0;t\x07 \x7f \u009b \u202e \ufffd é" {
		t.Errorf("JSON meaning changed: %q", back["x"])
	}
	for _, c := range []string{"\x1b", "\x7f", "\u009b", "\u202e"} {
		if strings.Contains(out.String(), c) {
			t.Errorf("raw %q in %q", c, out.String())
		}
	}
	// Raw passes golive's own styling through, after what is held back.
	out.Reset()
	w.Write([]byte("x\xc3"))
	Raw(w).Write([]byte("\x1b[1m"))
	if out.String() != `x\xc3`+"\x1b[1m" {
		t.Errorf("raw: %q", out.String())
	}
}

func TestClean(t *testing.T) {
	type inner struct {
		Name string
		Tags []string
		M    map[string]string
	}
	type outer struct {
		Title string
		In    *inner
		List  []*inner
		n     string
		Any   any
	}
	v := &outer{Title: "t\x1b", In: &inner{Name: "n\x07", Tags: []string{"\x1b]0;x"}, M: map[string]string{"k\x1b": "v\x1b"}},
		List: []*inner{{Name: "\u009b"}}, n: "\x1b", Any: "\x1b"}
	c := Clean(v)
	if c.Title != `t\x1b` || c.In.Name != `n\x07` || c.In.Tags[0] != `\x1b]0;x` || c.In.M[`k\x1b`] != `v\x1b` ||
		c.List[0].Name != `\u009b` || c.Any != `\x1b` {
		t.Errorf("Clean = %+v %+v", c, c.In)
	}
	if v.Title != "t\x1b" || v.In.Name != "n\x07" || v.List[0].Name != "\u009b" {
		t.Error("Clean changed its argument")
	}
}

func TestCleanCycles(t *testing.T) {
	type node struct {
		Name string
		Next *node
	}
	a := &node{Name: "a\x1b"}
	a.Next = &node{Name: "b", Next: a}
	c := Clean(a)
	if c.Name != `a\x1b` || c.Next.Next != c {
		t.Errorf("Clean of a cycle = %+v", c)
	}
}
