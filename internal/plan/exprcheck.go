package plan

import (
	"gopkg.in/yaml.v3"
)

// checkExpressions checks every ${{ }} in the document's string values,
// where each is written: unknown names, unknown vars, syntax errors,
// expressions in names or keys. Every bad expression of a string is
// reported at its own ${{. It records each expression in p for the checks
// that need the plan (host vars, secrets, env).
func (d *decoder) checkExpressions(root *yaml.Node, p *Plan) {
	vars := map[string]bool{}
	for _, v := range p.Vars {
		vars[v.Name] = true
	}
	p.aliases = map[Pos]Pos{}
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, key, top string, depth int)
	walk = func(n *yaml.Node, key, top string, depth int) {
		if n != nil && n.Kind == yaml.AliasNode {
			from := posOf(n)
			for n != nil && n.Kind == yaml.AliasNode {
				n = n.Alias
			}
			if n != nil {
				p.aliases[from] = posOf(n)
			}
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
				if depth == 0 {
					top = k.Value
				}
				walk(v, k.Value, top, depth+1)
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(item, key, top, depth+1)
			}
		case yaml.ScalarNode:
			d.checkScalar(n, key, top, vars, p)
		}
	}
	walk(root, "", "", 0)
}

func (d *decoder) checkScalar(n *yaml.Node, key, top string, vars map[string]bool, p *Plan) {
	switch key {
	case "when", "condition":
		code := UnwrapCondition(n.Value)
		at := posOf(n)
		if code != n.Value && HasExpr(n.Value) {
			at = d.src.exprPos(at, 0)
		}
		if err := CheckNames(code, vars, key == "condition"); err != nil {
			d.errorf(at, "%s: %s", key, err)
			return
		}
		p.exprs = append(p.exprs, exprSite{node: posOf(n), pos: at, code: code, cond: true, top: top})
		return
	}
	if key == "template" && top == "notify" {
		d.checkNotifyTemplate(n) // a Go template over the event's fields, not ${{ }}
		return
	}
	if !HasExpr(n.Value) {
		return
	}
	if key == "name" {
		d.errorf(posOf(n), "expressions are not allowed in names")
		return
	}
	var extra map[string][]string
	if key == "query" { // a monitor's prometheus.query may read hosts.regex
		extra = hostsRoot
	}
	for _, pr := range templateProblemsWith(n.Value, vars, extra) {
		d.errorf(d.src.exprPos(posOf(n), exprCount(n.Value, pr.offset)), "%s", pr.err)
	}
	segs, err := splitTemplate(n.Value)
	if err != nil {
		return
	}
	for _, seg := range segs {
		if seg.isCode {
			at := d.src.exprPos(posOf(n), exprCount(n.Value, seg.offset))
			p.exprs = append(p.exprs, exprSite{node: posOf(n), pos: at, code: seg.text, top: top})
		}
	}
}
