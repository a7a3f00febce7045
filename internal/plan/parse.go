package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest plan file golive reads.
const MaxSize = 4 << 20

// Document is a parsed plan file before an environment is chosen.
type Document struct {
	File string
	root *yaml.Node // the top-level mapping
	src  *source    // the file's text
}

// ReadDocument parses YAML text into a Document, refusing what is not a
// plan-shaped YAML text: empty input, binary data, files over MaxSize,
// syntax errors, several documents.
func ReadDocument(file string, data []byte) (*Document, Diags) {
	fail := func(p Pos, format string, args ...any) (*Document, Diags) {
		return nil, Diags{{File: file, Pos: p, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(data) > MaxSize {
		return fail(Pos{}, "file is %d bytes; a plan may be at most %d MiB", len(data), MaxSize>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(Pos{1, 1}, "the file is empty: a plan starts with \"golive: 1\"")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		if i < 0 {
			i = firstInvalidUTF8(data)
		}
		line := bytes.Count(data[:i], []byte("\n")) + 1
		return fail(Pos{line, 1}, "not a text file: binary data at byte %d (a plan is UTF-8 YAML)", i)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeSafely(dec, &doc); errors.Is(err, io.EOF) {
		return fail(Pos{1, 1}, "the file is empty: a plan starts with \"golive: 1\"")
	} else if err != nil {
		p, msg := yamlError(data, err)
		return fail(p, "%s", msg)
	}
	var extra yaml.Node
	if err := decodeSafely(dec, &extra); err == nil {
		return fail(posOf(&extra), "a plan file holds one YAML document; found another here")
	} else if !errors.Is(err, io.EOF) {
		p, msg := yamlErrorPos(err)
		return fail(p, "%s", msg)
	}
	if len(doc.Content) == 0 {
		return fail(Pos{1, 1}, "the file is empty: a plan starts with \"golive: 1\"")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fail(posOf(root), "a plan is a mapping of keys (golive, name, stages, ...), got %s", kindName(root))
	}
	return &Document{File: file, root: root, src: newSource(data)}, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// decodeSafely guards against panics inside the YAML library.
func decodeSafely(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse this file (%v)", r)
		}
	}()
	return dec.Decode(n)
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlErrorPos(err error) (Pos, string) {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Pos{line, 1}, "YAML syntax error: " + m[2]
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return Pos{1, 1}, "YAML syntax error: " + msg
}

// EnvironmentNames lists the environments the document declares.
func (doc *Document) EnvironmentNames() []string {
	n := mapValue(doc.root, "environments")
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// Decode decodes the document with environment env applied ("" for none).
func (doc *Document) Decode(env string) (*Plan, Diags) {
	d := &decoder{file: doc.File, src: doc.src}
	root := doc.root
	if env != "" {
		envs := mapValue(root, "environments")
		overlay := mapValue(envs, env)
		if overlay == nil {
			return nil, Diags{{File: doc.File, Pos: Pos{1, 1}, Msg: fmt.Sprintf("unknown environment %q: the plan has %s", env, quoteList(doc.EnvironmentNames()))}}
		}
		for overlay.Kind == yaml.AliasNode && overlay.Alias != nil {
			overlay = overlay.Alias
		}
		if !d.checkOverlay(overlay, env) {
			return nil, d.diags
		}
		root = mergeOverlay(root, overlay)
	}
	p := &Plan{}
	d.decode(root, reflect.ValueOf(p).Elem())
	if !d.over {
		d.checkExpressions(root, p)
	}
	return p, d.diags
}

// notOverridable are the top-level keys an environment cannot change.
var notOverridable = map[string]string{
	"golive":       "the format version is the same for every environment",
	"name":         "runs and locks are keyed by the plan's name",
	"environments": "environments do not nest",
}

// checkOverlay reports what an environment may not override and its
// unknown keys; it returns false when there were problems.
func (d *decoder) checkOverlay(overlay *yaml.Node, env string) bool {
	if overlay.Kind != yaml.MappingNode {
		return true
	}
	before := len(d.diags)
	for i := 0; i+1 < len(overlay.Content); i += 2 {
		k := overlay.Content[i]
		if why, bad := notOverridable[k.Value]; bad {
			d.errorf(posOf(k), "environment %q cannot override %q: %s", env, k.Value, why)
		}
	}
	// Decoding the overlay on its own reports unknown keys at their place.
	scratch := &Plan{}
	sub := &decoder{file: d.file}
	sub.decode(overlay, reflect.ValueOf(scratch).Elem())
	for _, diag := range sub.diags {
		diag.Msg = fmt.Sprintf("environment %q: %s", env, diag.Msg)
		d.diags = append(d.diags, diag)
	}
	return len(d.diags) == before
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mergeOverlay returns base with overlay applied: mappings merge key by key,
// anything else is replaced. An overlay's targets that name hosts or an
// inventory replace both the base's hosts and inventory, so an environment
// never inherits another environment's machines.
func mergeOverlay(base, overlay *yaml.Node) *yaml.Node {
	return mergeNode(base, overlay, "")
}

func mergeNode(base, overlay *yaml.Node, key string) *yaml.Node {
	if overlay.Kind == yaml.ScalarNode && overlay.ShortTag() == "!!null" {
		return base // an empty overlay changes nothing
	}
	if base == nil || base.Kind != yaml.MappingNode || overlay.Kind != yaml.MappingNode {
		return overlay
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: base.Tag, Line: base.Line, Column: base.Column}
	top := key == ""
	replacesTargets := key == "targets" && (mapValue(overlay, "hosts") != nil || mapValue(overlay, "inventory") != nil)
	for i := 0; i+1 < len(base.Content); i += 2 {
		k := base.Content[i]
		if replacesTargets && (k.Value == "hosts" || k.Value == "inventory") {
			continue
		}
		v := base.Content[i+1]
		if ov := mapValue(overlay, k.Value); ov != nil {
			child := k.Value
			if !top {
				child = key + "/" + k.Value
			}
			v = mergeNode(v, ov, child)
		}
		out.Content = append(out.Content, k, v)
	}
	for i := 0; i+1 < len(overlay.Content); i += 2 {
		k := overlay.Content[i]
		if mapValue(base, k.Value) == nil || (replacesTargets && (k.Value == "hosts" || k.Value == "inventory")) {
			if _, bad := notOverridable[k.Value]; bad && top {
				continue
			}
			out.Content = append(out.Content, k, overlay.Content[i+1])
		}
	}
	return out
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(n)
	}
	return s
}
