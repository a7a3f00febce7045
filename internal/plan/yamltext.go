package plan

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// A second look at a YAML syntax error, over the file's text. yaml.v3
// often reports an indentation mistake at the start of the block that
// encloses it (a dedented "health:" at line 155 is reported at the
// "stages:" list, line 71, column 1), and a tab as "found character that
// cannot start any token". This pass finds the line that breaks the file,
// names tabs, and for a known key at the wrong depth says where it belongs.

// yamlError turns a yaml.v3 error on data into a position and a message.
func yamlError(data []byte, err error) (Pos, string) {
	p, msg := yamlErrorPos(err)
	lines := splitLines(data)
	if p.Line < 1 || p.Line > len(lines) {
		return p, msg
	}
	n := firstBreakingLine(data, lines, p.Line, msg)
	if tab, ok := findTab(lines, n, msg); ok {
		return tab, fmt.Sprintf("tab character at %d:%d: YAML indentation must use spaces", tab.Line, tab.Col)
	}
	line := lines[n-1]
	indent := len(line) - len(bytes.TrimLeft(line, " "))
	at := Pos{Line: n, Col: indent + 1}
	if hint := indentHint(lines, n); hint != "" {
		return at, fmt.Sprintf("YAML indentation error: %s (YAML: %s)", hint, strings.TrimPrefix(msg, "YAML syntax error: "))
	}
	return at, msg
}

func splitLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// findTab finds a tab in the indentation of a line, when the error is one
// a tab causes: on the breaking line, or else the nearest line before it.
func findTab(lines [][]byte, line int, msg string) (Pos, bool) {
	if !strings.Contains(msg, "tab") && !strings.Contains(msg, "cannot start any token") {
		return Pos{}, false
	}
	tabIn := func(n int) (Pos, bool) {
		if n < 1 || n > len(lines) {
			return Pos{}, false
		}
		l := lines[n-1]
		for i, c := range l {
			switch c {
			case ' ':
				continue
			case '\t':
				return Pos{Line: n, Col: i + 1}, true
			}
			break
		}
		return Pos{}, false
	}
	if p, ok := tabIn(line); ok {
		return p, true
	}
	for n := min(line, len(lines)); n >= 1; n-- {
		if p, ok := tabIn(n); ok {
			return p, true
		}
	}
	return Pos{}, false
}

// maxRefineBytes bounds the text re-parsed to find the breaking line.
const maxRefineBytes = 8 << 20

// firstBreakingLine returns the first line n (from the reported one) such
// that the file's first n lines fail to parse with the same message:
// that line is what breaks the file. Once the first n lines fail that
// way, so do the first n+1: an exponential search from the reported line
// (the line is usually close), then a binary one. It gives up, keeping
// the reported line, past maxRefineBytes of re-parsing.
func firstBreakingLine(data []byte, lines [][]byte, reported int, msg string) int {
	ends := make([]int, len(lines)+1) // ends[n]: the end of the first n lines
	for i, l := range lines {
		ends[i+1] = min(ends[i]+len(l)+1, len(data))
	}
	spent := 0
	fails := func(n int) (bool, bool) {
		if spent += ends[n]; spent > maxRefineBytes {
			return false, false
		}
		var doc yaml.Node
		err := decodeSafely(yaml.NewDecoder(bytes.NewReader(data[:ends[n]])), &doc)
		if err == nil {
			return false, true
		}
		_, m := yamlErrorPos(err)
		return m == msg, true
	}
	lo, hi := reported, 0 // fails(hi) holds; fails(lo) does not (once lo > reported)
	if f, ok := fails(lo); !ok || f {
		return reported
	}
	for step := 1; hi == 0; step *= 2 {
		n := min(lo+step, len(lines))
		f, ok := fails(n)
		switch {
		case !ok:
			return reported
		case f:
			hi = n
		case n == len(lines):
			return reported // not an error of the first document
		default:
			lo = n
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		f, ok := fails(mid)
		if !ok {
			return reported
		}
		if f {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

var keyLineRe = regexp.MustCompile(`^( *)((?:- +)*)([A-Za-z_][A-Za-z0-9_-]*):(?:\s|$)`)

// textKey is a "key:" found at the start of a line.
type textKey struct {
	line, col int // 1-based; col is the key's
	key       string
	item      bool // the line starts a list item: "- key:"
}

// keyLines lists the lines that start with a key, skipping comments and
// the content of block scalars (run: | ...), up to line last.
func keyLines(lines [][]byte, last int) []textKey {
	var out []textKey
	block := -1 // indentation of the key that opened a block scalar, or -1
	for i := 0; i < last && i < len(lines); i++ {
		l := lines[i]
		trimmed := bytes.TrimLeft(l, " ")
		indent := len(l) - len(trimmed)
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if block >= 0 {
			if indent > block {
				continue
			}
			block = -1
		}
		if trimmed[0] == '#' {
			continue
		}
		m := keyLineRe.FindSubmatch(l)
		if m == nil {
			continue
		}
		col := len(m[1]) + len(m[2])
		out = append(out, textKey{line: i + 1, col: col + 1, key: string(m[3]), item: len(m[2]) > 0})
		rest := bytes.TrimSpace(l[len(m[0]):])
		if c := bytes.IndexByte(rest, '#'); c >= 0 {
			rest = bytes.TrimSpace(rest[:c])
		}
		if len(rest) > 0 && (rest[0] == '|' || rest[0] == '>') {
			block = indent
		}
	}
	return out
}

// indentHint explains a key at line n whose indentation fits nowhere:
// which object it belongs to and the key above it, of the same object,
// whose indentation it should have.
func indentHint(lines [][]byte, n int) string {
	keys := keyLines(lines, n)
	if len(keys) == 0 || keys[len(keys)-1].line != n {
		return ""
	}
	k := keys[len(keys)-1]
	owners := keyOwners()[k.key]
	if len(owners) == 0 || k.item {
		return "" // a list item's first key says little about where the item belongs
	}
	for i := len(keys) - 2; i >= 0; i-- {
		s := keys[i]
		sOwners := keyOwners()[s.key]
		switch {
		case s.col == k.col || s.key == k.key || len(sOwners) == 0 || !subset(sOwners, owners):
		case i == len(keys)-2 && (k.col > s.col || i == 0 || keys[i-1].col < s.col):
			// Next to each other, and the one above does not line up
			// with a key before it either: either may be out of place.
			return fmt.Sprintf("%q is indented %d spaces and %q (line %d) %d: both belong to %s, so line them up",
				k.key+":", k.col-1, s.key+":", s.line, s.col-1, theObject(sOwners))
		default:
			return fmt.Sprintf("%q is indented %d spaces, which fits no block here; %s belongs to %s: indent it to the level of %s: (%d spaces, as at line %d)",
				k.key+":", k.col-1, k.key, theObject(sOwners), s.key, s.col-1, s.line)
		}
		if s.col < k.col {
			return "" // out of the block the key is in
		}
	}
	return ""
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

// keyOwners maps each key of the plan format to the objects (by their
// names in messages) that have it.
func keyOwners() map[string][]string {
	ownersOnce.Do(func() {
		owners = map[string][]string{}
		seen := map[reflect.Type]bool{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct || seen[t] {
				return
			}
			seen[t] = true
			for _, f := range fieldsOf(t) {
				name := objectName(t)
				if !contains(owners[f.name], name) {
					owners[f.name] = append(owners[f.name], name)
				}
				walk(t.FieldByIndex(f.index).Type)
			}
		}
		walk(reflect.TypeFor[Plan]())
		for _, o := range owners {
			sort.Strings(o)
		}
	})
	return owners
}

var (
	ownersOnce sync.Once
	owners     map[string][]string
)

// theObject names an object in a sentence: "the stage", "the plan".
func theObject(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		if !strings.HasPrefix(n, "the ") {
			n = "the " + n
		}
		out[i] = n
	}
	return strings.Join(out, " or ")
}

// misplaced explains a key unknown in an object of type t that a nearby
// object has: an enclosing one (health indented into a step belongs to
// the stage) or one directly inside it (timeout dedented out of a step).
func (d *decoder) misplaced(t reflect.Type, key string) string {
	for i := len(d.stack) - 1; i >= 0; i-- {
		up := d.stack[i]
		if _, ok := lookupField(fieldsOf(up.t), key); ok {
			return fmt.Sprintf(": %s belongs to %s, not %s: indent it to the level of %s:",
				key, theObject([]string{objectName(up.t)}), theObject([]string{objectName(t)}), up.key)
		}
	}
	var in, under []string
	for _, f := range fieldsOf(t) {
		ft := t.FieldByIndex(f.index).Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct {
			continue
		}
		if _, ok := lookupField(fieldsOf(ft), key); ok {
			in = append(in, anObject(strings.TrimPrefix(objectName(ft), "the ")))
			under = append(under, f.name+":")
		}
	}
	if len(in) > 0 {
		return fmt.Sprintf(": %s belongs to %s, not %s: indent it under %s", key, strings.Join(in, " or "), theObject([]string{objectName(t)}), strings.Join(under, " or "))
	}
	return ""
}

// anObject puts "a" or "an" before an object's name.
func anObject(name string) string {
	if strings.HasPrefix(name, "http") || strings.ContainsAny(name[:1], "aeiou") {
		return "an " + name
	}
	return "a " + name
}
