package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// literalEval asks Python what ast.literal_eval makes of each input:
// {"ok": false} when it refuses (ValueError, SyntaxError: Ansible keeps the
// text), else the type ("str", "int" or another) and, for str and int, the
// value as text.
const literalEval = `
import ast, json, sys, warnings
warnings.simplefilter("ignore")
out = []
for s in json.load(sys.stdin):
    try:
        v = ast.literal_eval(s)
    except (ValueError, SyntaxError):
        out.append({"ok": False}); continue
    except Exception:
        out.append({"ok": None}); continue
    if isinstance(v, bytes):
        try: v = v.decode("utf-8")
        except UnicodeDecodeError: out.append({"ok": None}); continue
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        out.append({"ok": True, "type": "other"})
    else:
        out.append({"ok": True, "type": type(v).__name__, "value": str(v)})
json.dump(out, sys.stdout)
`

// TestINIValueAgainstPython compares iniValue with Python's
// ast.literal_eval (the Python that runs ansible-inventory, else python3)
// on the table of TestINIValue and on thousands of generated values.
func TestINIValueAgainstPython(t *testing.T) {
	python := ""
	if bin, err := exec.LookPath("ansible-inventory"); err == nil {
		python = interpreter(t, bin)
	} else if p, err := exec.LookPath("python3"); err == nil {
		python = p
	} else {
		t.Skip("neither ansible-inventory nor python3 is installed: skipping the comparison with Python")
	}
	frags := []string{`'a'`, `"b c"`, `'#'`, `"\x41"`, `'\u00e9'`, `"\d"`, `r'\n'`, `b'x'`, `u'y'`, `f'z'`, `'''t"'''`,
		`1`, `0x1F`, `0o7`, `0b1`, `1_0`, `010`, `00`, `.5`, `1.`, `1e3`, `2j`, `1__0`, `0x`, `True`, `None`, `False`,
		`set`, `foo`, `[`, `]`, `(`, `)`, `{`, `}`, `,`, `:`, `+`, `-`, ` `, `  `, `#c`, ` # c`, `=`, `\`, `'`, `"`}
	inputs := []string{}
	for _, tt := range iniValueCases {
		inputs = append(inputs, tt.in)
	}
	r := rand.New(rand.NewPCG(14, 14))
	for range 4000 {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			b.WriteString(frags[r.IntN(len(frags))])
		}
		inputs = append(inputs, strings.TrimLeft(b.String(), " "))
	}
	in, _ := json.Marshal(inputs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", literalEval)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	var results []struct {
		OK          *bool
		Type, Value string
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(inputs) {
		t.Fatalf("python's answer: %v (%d results for %d inputs)", err, len(results), len(inputs))
	}
	bad := 0
	for i, s := range inputs {
		res := results[i]
		if res.OK == nil || strings.Contains(s, `\N`) {
			continue // Python raised something Ansible does not catch, or a named character
		}
		got, ok := pyLiteral(s)
		switch {
		case ok != *res.OK:
			t.Errorf("%s: golive literal=%v, Python's %v", s, ok, *res.OK)
		case ok && (res.Type == "str" || res.Type == "int") && got != res.Value:
			t.Errorf("%s: golive %q, Python's %s %q", s, got, res.Type, res.Value)
		default:
			continue
		}
		if bad++; bad > 20 {
			t.Fatal("too many differences")
		}
	}
}
