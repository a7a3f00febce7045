package plan

import (
	"gopkg.in/yaml.v3"
)

// checkExpressions checks every ${{ }} in the document's string values,
// where each is written: unknown names, unknown vars, syntax errors,
// expressions in names or keys.
func (d *decoder) checkExpressions(root *yaml.Node, p *Plan) {
	vars := map[string]bool{}
	for _, v := range p.Vars {
		vars[v.Name] = true
	}
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, key string, depth int)
	walk = func(n *yaml.Node, key string, depth int) {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if depth == 0 && k.Value == "environments" {
					continue
				}
				if HasExpr(k.Value) {
					d.errorf(posOf(k), "expressions are not allowed in keys")
					continue
				}
				walk(v, k.Value, depth+1)
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(item, key, depth+1)
			}
		case yaml.ScalarNode:
			d.checkScalar(n, key, vars)
		}
	}
	walk(root, "", 0)
}

func (d *decoder) checkScalar(n *yaml.Node, key string, vars map[string]bool) {
	switch key {
	case "when":
		if err := CheckNames(UnwrapCondition(n.Value), vars, false); err != nil {
			d.errorf(posOf(n), "when: %s", err)
		}
		return
	case "condition":
		if err := CheckNames(UnwrapCondition(n.Value), vars, true); err != nil {
			d.errorf(posOf(n), "condition: %s", err)
		}
		return
	}
	if !HasExpr(n.Value) {
		return
	}
	if key == "name" {
		d.errorf(posOf(n), "expressions are not allowed in names")
		return
	}
	check := CheckTemplate
	if key == "query" { // a monitor's prometheus.query
		check = checkQueryTemplate
	}
	if err := check(n.Value, vars); err != nil {
		d.errorf(posOf(n), "%s", err)
	}
}
