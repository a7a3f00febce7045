package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the nodes one decode visits, aliases included, so that an
// alias bomb ("billion laughs") fails fast with bounded memory.
const maxNodes = 200_000

// nodeDecoder is implemented by types with their own YAML shape.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node)
}

// decoder turns a YAML node tree into plan types strictly, collecting every
// problem with its position instead of stopping at the first.
type decoder struct {
	file   string
	diags  Diags
	visits int
	over   bool
	src    *source // the file's text, to point into strings; nil: at the string
	stack  []frame // the objects being decoded, outermost first
}

// frame is an object being decoded and the key whose value is decoded now.
type frame struct {
	t   reflect.Type
	key string
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(p Pos, format string, args ...any) {
	d.diags = append(d.diags, Diag{File: d.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts visits; it returns nil when the budget
// is spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.visits++
	if d.visits > maxNodes {
		if !d.over {
			d.over = true
			d.errorf(posOf(n), "document too large or too many aliases (over %d nodes expanded)", maxNodes)
		}
		return nil
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "something else"
}

// pair is one key and value of a mapping.
type pair struct{ key, val *yaml.Node }

// pairs returns a mapping's pairs with merge keys (<<) expanded; explicit
// keys win over merged ones.
func (d *decoder) pairs(n *yaml.Node) []pair {
	var out, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, d.mergeSources(v)...)
			continue
		}
		out = append(out, pair{k, v})
	}
	for _, m := range merged {
		dup := false
		for _, p := range out {
			if p.key.Value == m.key.Value {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

func (d *decoder) mergeSources(v *yaml.Node) []pair {
	v = d.resolve(v)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range v.Content {
			out = append(out, d.mergeSources(item)...)
		}
		return out
	}
	d.errorf(posOf(v), "merge key (<<) needs a mapping or a list of mappings, got %s", kindName(v))
	return nil
}

// field is one decodable field of a struct type.
type field struct {
	name  string
	index []int
	enum  []string // the values a string field may take (its `enum` tag), nil for any
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		if opt == "inline" {
			for _, sub := range fieldsOf(sf.Type) {
				out = append(out, field{sub.name, append([]int{i}, sub.index...), sub.enum})
			}
			continue
		}
		if name == "" || !sf.IsExported() {
			continue
		}
		var enum []string
		if e := sf.Tag.Get("enum"); e != "" {
			enum = strings.Split(e, ",")
		}
		out = append(out, field{name, []int{i}, enum})
	}
	fieldCache.Store(t, out)
	return out
}

// objectName names a struct type in messages.
func objectName(t reflect.Type) string {
	names := map[string]string{
		"Plan": "the plan", "Release": "release", "Artifact": "artifact", "Targets": "targets",
		"Defaults": "targets.defaults", "Host": "host", "Window": "window", "OpenRange": "window.open range",
		"FreezeSpec": "window.freeze", "Controls": "controls", "Ticket": "controls.ticket",
		"Approvals": "controls.approvals", "Check": "check", "HTTPCheck": "http check", "TCPCheck": "tcp check",
		"Confirm": "confirm", "Stage": "stage", "Gate": "gate", "Strategy": "strategy", "Step": "step",
		"Upload": "upload", "Monitor": "monitor", "Prometheus": "prometheus", "Backout": "backout", "Notify": "notify",
	}
	if s, ok := names[t.Name()]; ok {
		return s
	}
	return strings.ToLower(t.Name())
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	n = d.resolve(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the default
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(posOf(n), "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if s, ok := d.scalar(n); ok {
			v.SetString(s)
		}
	case reflect.Int:
		d.decodeInt(n, v)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(posOf(n), "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	default:
		d.errorf(posOf(n), "cannot decode into %s", v.Type())
	}
}

// scalar returns a scalar's text; numbers and booleans are accepted as text.
func (d *decoder) scalar(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(posOf(n), "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value) {
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(posOf(n), "expected a whole number, got %s", kindName(n))
		return
	}
	v.SetInt(int64(i))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), "expected a mapping (%s), got %s", objectName(t), kindName(n))
		return
	}
	var meta *Meta
	if m, ok := v.Addr().Interface().(interface{ meta() *Meta }); ok {
		meta = m.meta()
		meta.Pos = posOf(n)
	}
	fields := fieldsOf(t)
	seen := map[string]bool{}
	for _, p := range d.pairs(n) {
		key := d.resolve(p.key)
		if key == nil {
			return
		}
		if key.Kind != yaml.ScalarNode {
			d.errorf(posOf(key), "a key must be a string, got %s", kindName(key))
			continue
		}
		if seen[key.Value] {
			d.errorf(posOf(key), "duplicate key %q", key.Value)
			continue
		}
		seen[key.Value] = true
		f, ok := lookupField(fields, key.Value)
		if !ok {
			hint := d.misplaced(t, key.Value)
			if hint == "" {
				hint = suggest(key.Value, fields)
			}
			d.errorf(posOf(key), "unknown key %q in %s%s", key.Value, objectName(t), hint)
			continue
		}
		if meta != nil {
			meta.record(key.Value, posOf(key), posOf(p.val))
		}
		before := len(d.diags)
		d.stack = append(d.stack, frame{t, key.Value})
		d.decode(p.val, v.FieldByIndex(f.index))
		d.stack = d.stack[:len(d.stack)-1]
		if len(d.diags) == before {
			d.checkEnum(key.Value, p.val, v.FieldByIndex(f.index), f.enum)
		}
		if meta != nil && len(d.diags) > before {
			meta.markBad(key.Value)
		}
	}
}

// checkEnum refuses a value outside a field's enum tag, naming the values
// allowed (and the closest one): an unknown word must never fall back to a
// default at run time.
func (d *decoder) checkEnum(key string, n *yaml.Node, v reflect.Value, enum []string) {
	if len(enum) == 0 || v.Kind() != reflect.String || v.String() == "" {
		return
	}
	got := v.String()
	for _, e := range enum {
		if got == e {
			return
		}
	}
	fields := make([]field, len(enum))
	for i, e := range enum {
		fields[i] = field{name: e}
	}
	d.errorf(posOf(d.resolve(n)), "%s: unknown value %q: use one of %s%s", key, got, strings.Join(enum, ", "), suggest(got, fields))
}

func lookupField(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// suggest returns ` (did you mean "x"?)` for a key close to a known one.
func suggest(key string, fields []field) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		names = append(names, f.name)
	}
	sort.Strings(names)
	for _, name := range names {
		if dist := levenshtein(key, name); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
