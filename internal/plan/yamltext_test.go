package plan

import (
	"strings"
	"testing"
)

// TestYAMLErrorLine: a YAML error is reported on the line that breaks the
// file, a tab is named, and a misplaced key gets its parent.
func TestYAMLErrorLine(t *testing.T) {
	const head = "golive: 1\nname: x\nstages:\n  - name: web\n    on: all\n    steps:\n      - name: a\n        run: |\n"
	for _, tc := range []struct{ name, text, want string }{
		{"dedented key", head + "          echo hi\n        backout: echo bye\n  health:\n    - run: \"true\"\n",
			`x.yaml:11:3: YAML indentation error: "health:" is indented 2 spaces, which fits no block here; health belongs to the stage: indent it to the level of steps: (4 spaces, as at line 6)`},
		{"tab", head + "          echo hi\n\t  backout: echo bye\n",
			"x.yaml:10:1: tab character at 10:1: YAML indentation must use spaces"},
		{"tab after spaces", head + "          echo hi\n        backout: x\n  \t  health: []\n",
			"x.yaml:11:3: tab character at 11:3: YAML indentation must use spaces"},
		// A tab that starts a block scalar's text is refused by yaml.v3 too.
		{"tab in a script", head + "          \techo hi\n        backout: x\n",
			"x.yaml:9:11: tab character at 9:11: YAML indentation must use spaces"},
		// A "key:" inside a script is text.
		{"key in a script", head + "          health: looks like a key\n        retries: 1\n      backout: x\n",
			`x.yaml:11:7: YAML indentation error: "backout:" is indented 6 spaces, which fits no block here; backout belongs to the step: indent it to the level of retries: (8 spaces, as at line 10)`},
	} {
		_, diags := ReadDocument("x.yaml", []byte(tc.text))
		if len(diags) != 1 || !strings.HasPrefix(diags[0].String(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.name, diags, tc.want)
		}
	}
}

// TestMisplacedKey: a known key valid YAML puts in the wrong object says
// where it belongs, up or down.
func TestMisplacedKey(t *testing.T) {
	text := `golive: 1
name: x
targets:
  hosts:
    h1: {transport: local, dir: h}
stages:
  - name: web
    on: all
    retries: 2
    steps:
      - name: a
        run: echo hi
        backout: echo bye
        description: a step
        tiemout: 10s
`
	p, diags := decodeText(t, text)
	_ = p
	got := diags.Error()
	for _, want := range []string{
		`x.yaml:9:5: unknown key "retries" in stage: retries belongs to a step, not the stage: indent it under steps:`,
		`x.yaml:14:9: unknown key "description" in step: description belongs to the plan, not the step: indent it to the level of stages:`,
		`x.yaml:15:9: unknown key "tiemout" in step (did you mean "timeout"?)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func decodeText(t *testing.T, text string) (*Plan, Diags) {
	t.Helper()
	doc, diags := ReadDocument("x.yaml", []byte(text))
	if diags != nil {
		t.Fatalf("read: %v", diags)
	}
	return doc.Decode("")
}

// TestExprPos: each expression is reported at its own ${{, whatever the
// string's style.
func TestExprPos(t *testing.T) {
	text := `golive: 1
name: x
targets:
  hosts:
    h1: {transport: local, dir: h}
stages:
  - name: web
    on: all
    steps:
      - name: a
        run: "echo \"\t\" ${{ vars.a }} é ${{ vars.b }}"
        backout: >
          echo
          ${{ vars.c }} and ${{ vars.d }}
`
	_, diags := decodeText(t, text)
	got := diags.Error()
	for _, want := range []string{"x.yaml:11:27: unknown variable vars.a", "x.yaml:11:43: unknown variable vars.b",
		"x.yaml:14:11: unknown variable vars.c", "x.yaml:14:29: unknown variable vars.d"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
