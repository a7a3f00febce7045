package plan

import (
	"fmt"
	"regexp"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/golive-dev/golive/internal/values"
)

// decodeNode reads vars: `NAME: VALUE`, or `NAME: {value: VALUE, settable:
// PATTERN}` for a var that may be set at run time over the network.
func (vs *Vars) decodeNode(d *decoder, n *yaml.Node) {
	d.eachKey(n, "var", func(key string, _ Pos, val *yaml.Node) {
		val = d.resolve(val)
		if val == nil {
			return
		}
		switch val.Kind {
		case yaml.ScalarNode:
			*vs = append(*vs, Var{Name: key, Value: val.Value, Pos: posOf(val)})
		case yaml.MappingNode:
			if v, ok := d.declaredVar(key, val); ok {
				*vs = append(*vs, v)
			}
		default:
			d.errorf(posOf(val), "var %q: expected a value or {value, settable}, got %s", key, kindName(val))
		}
	})
}

// declaredVar reads {value: VALUE, settable: PATTERN}.
func (d *decoder) declaredVar(name string, n *yaml.Node) (Var, bool) {
	v := Var{Name: name, Pos: posOf(n)}
	hasValue, ok := false, true
	for _, p := range d.pairs(n) {
		k, val := d.resolve(p.key), d.resolve(p.val)
		if k == nil || val == nil {
			return v, false
		}
		if val.Kind != yaml.ScalarNode {
			d.errorf(posOf(val), "var %q: %s: expected a string, got %s", name, k.Value, kindName(val))
			ok = false
			continue
		}
		switch k.Value {
		case "value":
			v.Value, v.Pos, hasValue = val.Value, posOf(val), true
		case "settable":
			v.Settable, v.SettablePos = val.Value, posOf(val)
		default:
			d.errorf(posOf(k), "var %q: unknown key %q: a var is a value, or {value: VALUE, settable: PATTERN}", name, k.Value)
			ok = false
		}
	}
	if !hasValue && ok {
		d.errorf(posOf(n), "var %q: missing value: write {value: VALUE, settable: PATTERN}", name)
		ok = false
	}
	return v, ok
}

// settableRe compiles a settable pattern so that it must match a whole
// value, anchored or not.
func settableRe(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// checkSettable reports settable patterns that do not compile, that use
// expressions, or that refuse the var's own value.
func (v *validator) checkSettable() {
	for _, x := range v.p.Vars {
		if x.Settable == "" {
			continue
		}
		if HasExpr(x.Settable) {
			v.errorf(x.SettablePos, "var %q: settable is a regular expression; expressions are not allowed in it", x.Name)
			continue
		}
		if _, err := regexp.Compile(x.Settable); err != nil {
			v.errorf(x.SettablePos, "var %q: invalid settable pattern: %s", x.Name, err)
			continue
		}
		re, err := settableRe(x.Settable)
		if err != nil { // cannot happen once the pattern compiles alone
			v.errorf(x.SettablePos, "var %q: invalid settable pattern: %s", x.Name, err)
			continue
		}
		if !x.Overridden && !HasExpr(x.Value) && !re.MatchString(x.Value) {
			v.errorf(x.Pos, "var %q: its value %s does not match its own settable pattern %s", x.Name, values.Quote(x.Value), x.Settable)
		}
	}
}

// Origin says where a run-time override of a var comes from.
type Origin int

const (
	// FromOperator is the CLI (--set): any var may be set, as the operator
	// could edit the plan; a declared settable pattern still applies.
	FromOperator Origin = iota
	// FromNetwork is the API and webhooks: only vars that declare settable
	// may be set, and only to values their pattern matches.
	FromNetwork
)

// Override sets var name to value for this run. The value is used as it
// is: it is never evaluated as an expression. The error is a
// *values.Error naming the var: an unknown var, a value that is not text
// (NUL, not UTF-8, longer than values.MaxOverride), a value its settable
// pattern refuses, or, from the network, a var that is not settable.
func (p *Plan) Override(name, value string, from Origin) error {
	input := "var " + name
	if !values.IsName(name) {
		input = "var " + values.Quote(name) // safe to print, whatever it holds
	}
	i := p.varIndex(name)
	if i < 0 {
		return &values.Error{Input: input, Value: value, Why: fmt.Sprintf("the plan has no var %q", name)}
	}
	if err := values.Text(input, value, values.MaxOverride); err != nil {
		return err
	}
	x := &p.Vars[i]
	if x.Settable == "" && from == FromNetwork {
		return &values.Error{Input: input, Value: value, Why: "this var is not settable: over the network only vars that declare settable: may be set"}
	}
	if x.Settable != "" {
		re, err := settableRe(x.Settable)
		if err != nil {
			return &values.Error{Input: input, Value: value, Why: fmt.Sprintf("its settable pattern does not compile: %s", err)}
		}
		if !re.MatchString(value) {
			return &values.Error{Input: input, Value: value, Why: fmt.Sprintf("the value does not match the var's settable pattern %s", x.Settable)}
		}
	}
	x.Value, x.Overridden = value, true
	return nil
}

// SetVars applies overrides in name order; it stops at the first refused.
func (p *Plan) SetVars(set map[string]string, from Origin) error {
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := p.Override(k, set[k], from); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plan) varIndex(name string) int {
	for i := range p.Vars {
		if p.Vars[i].Name == name {
			return i
		}
	}
	return -1
}
