package inventory

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxYAMLWork bounds how many nodes aliases and merge keys may make the
// parser visit, so that a small file cannot expand into a huge one.
const maxYAMLWork = 1 << 20

// ParseYAML parses an Ansible YAML inventory:
//
//	all:
//	  hosts: {NAME: {VAR: VALUE, ...}, ...}
//	  vars: {VAR: VALUE, ...}
//	  children: {GROUP: {hosts: ..., vars: ..., children: ...}, ...}
//
// Top-level keys other than "all" are groups too.
func ParseYAML(data []byte) (*Inventory, error) {
	b, err := readYAML(data)
	if err != nil {
		return nil, err
	}
	return b.build()
}

func readYAML(data []byte) (*builder, error) {
	root, err := decodeYAML(data)
	if err != nil {
		return nil, err
	}
	y := &yamlParser{b: newBuilder(), seen: map[seenKey]bool{}, work: maxYAMLWork}
	if root != nil {
		if err := y.top(root); err != nil {
			return nil, err
		}
	}
	return y.b, nil
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError positions an error of the YAML library.
func yamlError(err error) *Error {
	if m := yamlLineErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errAt(max(line, 1), 0, "invalid YAML: %s", m[2])
	}
	return errAt(1, 0, "invalid YAML: %v", err)
}

// decodeYAML returns the document's root node, or nil for an empty document.
func decodeYAML(data []byte) (root *yaml.Node, err error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil { // a bug in the YAML library must not crash the caller
			root, err = nil, errAt(1, 0, "invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root = doc.Content[0]
	if root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root.Line, root.Column, "inventory must be a mapping of groups, got %s", kindName(root))
	}
	return root, nil
}

// looksLikeYAML reports whether data is a YAML mapping of group definitions.
func looksLikeYAML(data []byte) bool {
	root, err := decodeYAML(data)
	if err != nil || root == nil {
		return false
	}
	for i := 1; i < len(root.Content); i += 2 {
		v := root.Content[i]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v == nil || !isNull(v) && v.Kind != yaml.MappingNode {
			return false
		}
	}
	return true
}

type seenKey struct {
	group string
	node  *yaml.Node
}

type yamlParser struct {
	b    *builder
	seen map[seenKey]bool // group definitions already read (aliases repeat them)
	work int              // nodes left to visit
}

type pair struct{ key, value *yaml.Node }

func (y *yamlParser) top(root *yaml.Node) error {
	pairs, err := y.mapping(root, "inventory")
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if p.key.Kind == yaml.ScalarNode && p.key.Value == "plugin" {
			return errAt(p.key.Line, p.key.Column, "this is an inventory plugin's configuration (plugin: ...), not an inventory: golive reads static INI and YAML inventories")
		}
		name, err := y.groupName(p.key)
		if err != nil {
			return err
		}
		v, err := y.deref(p.value)
		if err != nil {
			return err
		}
		if !isNull(v) && v.Kind != yaml.MappingNode {
			y.b.warnf(p.key.Line, p.key.Column, "skipping %q: not a group definition (a mapping of hosts, vars and children), as Ansible does", name)
			continue
		}
		if err := y.group(name, p.value); err != nil {
			return err
		}
	}
	return nil
}

// group reads the definition of group name: hosts, vars and children.
func (y *yamlParser) group(name string, n *yaml.Node) error {
	y.b.group(name)
	n, err := y.deref(n)
	if err != nil || isNull(n) {
		return err
	}
	if y.seen[seenKey{name, n}] {
		return nil
	}
	y.seen[seenKey{name, n}] = true
	pairs, err := y.mapping(n, fmt.Sprintf("group %q", name))
	if err != nil {
		return err
	}
	for _, p := range pairs {
		value := p.value
		if section := p.key.Value; section == "hosts" || section == "vars" || section == "children" {
			if value, err = y.shortcut(value); err != nil {
				return err
			}
		}
		switch p.key.Value {
		case "hosts":
			err = y.hosts(name, value)
		case "vars":
			g := y.b.group(name)
			err = y.vars(g.vars, "group var", value, g)
		case "children":
			err = y.children(name, value)
		default:
			y.b.warnf(p.key.Line, p.key.Column, "group %q: skipping unknown key %q (want hosts, vars or children), as Ansible does", name, p.key.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shortcut turns a string where a mapping is expected into a mapping with
// that one key and no value, as Ansible does: "hosts: w1" is
// "hosts: {w1: }" and "children: web" is "children: {web: }".
func (y *yamlParser) shortcut(n *yaml.Node) (*yaml.Node, error) {
	d, err := y.deref(n)
	if err != nil {
		return nil, err
	}
	if d.Kind != yaml.ScalarNode || isNull(d) {
		return n, nil
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.Value, Line: d.Line, Column: d.Column}
	null := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: d.Line, Column: d.Column}
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, null}, Line: d.Line, Column: d.Column}, nil
}

func (y *yamlParser) children(parent string, n *yaml.Node) error {
	n, err := y.deref(n)
	if err != nil || isNull(n) {
		return err
	}
	pairs, err := y.mapping(n, fmt.Sprintf("group %q: children", parent))
	if err != nil {
		return err
	}
	for _, p := range pairs {
		name, err := y.groupName(p.key)
		if err != nil {
			return err
		}
		if err := y.b.addChild(parent, name, p.key.Line, p.key.Column); err != nil {
			return err
		}
		if err := y.group(name, p.value); err != nil {
			return err
		}
	}
	return nil
}

func (y *yamlParser) hosts(groupName string, n *yaml.Node) error {
	n, err := y.deref(n)
	if err != nil || isNull(n) {
		return err
	}
	pairs, err := y.mapping(n, fmt.Sprintf("group %q: hosts", groupName))
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if p.key.Kind != yaml.ScalarNode {
			return errAt(p.key.Line, p.key.Column, "host name must be a string, got %s", kindName(p.key))
		}
		if p.key.Tag == "!!int" || p.key.Tag == "!!float" {
			return errAt(p.key.Line, p.key.Column, "host %s is a number: enclose it in quotes, as Ansible requires", p.key.Value)
		}
		hp, err := y.b.expand(p.key.Value, p.key.Line, p.key.Column)
		if err != nil {
			return err
		}
		vars := map[string]varDef{}
		if err := y.vars(vars, "host var", p.value, nil); err != nil {
			return err
		}
		if err := y.b.addHosts(hp, groupName, vars, p.key.Line, p.key.Column); err != nil {
			return err
		}
	}
	return nil
}

// vars reads a mapping of vars into dst; what names the kind of var in
// errors ("host var", "group var"); g is the group whose vars these are
// (ansible_group_priority sets its priority), nil for host vars. A list or
// a mapping is carried as its JSON text.
func (y *yamlParser) vars(dst map[string]varDef, what string, n *yaml.Node, g *group) error {
	n, err := y.deref(n)
	if err != nil || isNull(n) {
		return err
	}
	if n.Kind != yaml.MappingNode {
		return errAt(n.Line, n.Column, "%ss must be a mapping, got %s", what, kindName(n))
	}
	pairs, err := y.mapping(n, what+"s")
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if p.key.Kind != yaml.ScalarNode {
			return errAt(p.key.Line, p.key.Column, "%s name must be a string, got %s", what, kindName(p.key))
		}
		v, err := y.deref(p.value)
		if err != nil {
			return err
		}
		value := v.Value
		switch {
		case v.Tag == "!vault":
			y.b.warnf(v.Line, v.Column, "%s %s: skipping a vault-encrypted value: golive does not decrypt Ansible Vault", what, p.key.Value)
			continue
		case v.Kind != yaml.ScalarNode:
			if value, err = y.jsonText(v); err != nil {
				return err
			}
		case isNull(v):
			value = ""
		}
		def := varDef{value: value, line: v.Line, col: v.Column}
		if g != nil {
			err = setGroupVar(g, dst, p.key.Value, def)
		} else {
			err = setVar(dst, p.key.Value, def)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (y *yamlParser) groupName(k *yaml.Node) (string, error) {
	if k.Kind != yaml.ScalarNode || !validGroupName(k.Value) {
		return "", errAt(k.Line, k.Column, "invalid group name %q", k.Value)
	}
	return k.Value, nil
}

// mapping returns the key/value pairs of n, with "<<" merge keys expanded
// (explicit keys come last so that they win) and keys dereferenced.
func (y *yamlParser) mapping(n *yaml.Node, what string) ([]pair, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n.Line, n.Column, "%s must be a mapping, got %s", what, kindName(n))
	}
	var merged, explicit []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := y.deref(n.Content[i])
		if err != nil {
			return nil, err
		}
		v := n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			ps, err := y.merge(v, what)
			if err != nil {
				return nil, err
			}
			merged = append(merged, ps...)
			continue
		}
		explicit = append(explicit, pair{k, v})
	}
	return append(merged, explicit...), nil
}

// merge expands the value of a "<<" key: a mapping or a list of mappings,
// earlier ones winning.
func (y *yamlParser) merge(v *yaml.Node, what string) ([]pair, error) {
	v, err := y.deref(v)
	if err != nil {
		return nil, err
	}
	if v.Kind == yaml.MappingNode {
		return y.mapping(v, what)
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v.Line, v.Column, "merge key value must be a mapping or a list of mappings")
	}
	var out []pair
	for i := len(v.Content) - 1; i >= 0; i-- {
		m, err := y.deref(v.Content[i])
		if err != nil {
			return nil, err
		}
		if m.Kind != yaml.MappingNode {
			return nil, errAt(m.Line, m.Column, "merge key value must be a mapping or a list of mappings")
		}
		ps, err := y.mapping(m, what)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// deref follows aliases and charges the visit against the work budget.
func (y *yamlParser) deref(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	y.work--
	if y.work < 0 {
		return nil, errAt(n.Line, n.Column, "inventory too complex: aliases expand to more than %d nodes", maxYAMLWork)
	}
	if n.Kind == yaml.AliasNode {
		return nil, errAt(n.Line, n.Column, "unresolved alias")
	}
	return n, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// jsonText renders a list or a mapping var as JSON (keys sorted): golive
// carries vars as text, and a script can read the structure back with jq.
func (y *yamlParser) jsonText(n *yaml.Node) (string, error) {
	v, err := y.plain(n)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", errAt(n.Line, n.Column, "cannot carry this value as JSON: %v", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// plain converts a YAML node into Go values json can encode, following
// aliases and merge keys under the work budget.
func (y *yamlParser) plain(n *yaml.Node) (any, error) {
	n, err := y.deref(n)
	if err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := y.plain(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		pairs, err := y.mapping(n, "value")
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(pairs))
		for _, p := range pairs {
			if p.key.Kind != yaml.ScalarNode {
				return nil, errAt(p.key.Line, p.key.Column, "a key in a var's value must be a string, got %s", kindName(p.key))
			}
			v, err := y.plain(p.value)
			if err != nil {
				return nil, err
			}
			out[p.key.Value] = v
		}
		return out, nil
	}
	var v any
	if isNull(n) {
		return nil, nil
	}
	if err := n.Decode(&v); err != nil {
		return n.Value, nil
	}
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return n.Value, nil
		}
	case int, int64, uint64, bool, string:
	default:
		return n.Value, nil // timestamps, binary: the text as written
	}
	return v, nil
}
