package plan

import (
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// This file warns where a value golive does not control reaches a run
// script outside shell(): such a value could change what the script does.
// What is untrusted is said in one place, untrusted(); everything else a
// script can see is either written by the plan's author or checked by
// golive to hold no character special to sh (release versions, host
// names and addresses, run ids).

// scriptTaint knows which names are untrusted in a plan.
type scriptTaint struct {
	inventories bool              // host vars may come from an inventory
	vars        map[string]string // var name -> why it is untrusted
}

// untrusted says why a name read by an expression is not to be put into a
// script as it is, or "" when it may be.
func (t *scriptTaint) untrusted(path string) string {
	switch {
	case strings.HasPrefix(path, "env."):
		return "the controller's environment is not part of the plan"
	case strings.HasPrefix(path, "host.vars.") && t.inventories:
		return "host vars may come from an inventory file"
	case strings.HasPrefix(path, "vars."):
		return t.vars[strings.TrimPrefix(path, "vars.")]
	}
	return ""
}

func (v *validator) newTaint() *scriptTaint {
	t := &scriptTaint{vars: map[string]string{},
		inventories: len(v.p.Targets.Inventory) > 0 || len(v.p.InventoryHosts) > 0}
	for _, x := range v.p.Vars {
		if c := patternAllowsShellSpecial(x.Settable); c != "" {
			t.vars[x.Name] = fmt.Sprintf("it can be set over the network, and its settable pattern allows %s", c)
		}
	}
	// A var whose value uses an untrusted name outside shell() is
	// untrusted too; repeat until nothing changes (vars may chain).
	for changed := true; changed; {
		changed = false
		for _, x := range v.p.Vars {
			if t.vars[x.Name] != "" || x.Overridden {
				continue
			}
			for _, u := range scanScript(x.Value, t, false).refs {
				t.vars[x.Name] = fmt.Sprintf("its value uses %s outside shell()", u.path)
				changed = true
				break
			}
		}
	}
	return t
}

// scripts warns about every run script of the plan.
func (v *validator) scripts() {
	t := v.newTaint()
	for i := range v.p.Preflight {
		v.checkScript(t, &v.p.Preflight[i], "preflight")
	}
	for i := range v.p.Stages {
		s := &v.p.Stages[i]
		for j := range s.Steps {
			st := &s.Steps[j]
			label := fmt.Sprintf("step %q", st.Name)
			v.inFile = st.File
			v.scriptRisks(t, st.Run, st.ValPos("run"), label+" run")
			v.scriptRisks(t, st.Backout, st.ValPos("backout"), label+" backout")
			v.inFile = ""
		}
		for j := range s.Health {
			v.checkScript(t, &s.Health[j], "health")
		}
	}
	for i := range v.p.Verify {
		v.checkScript(t, &v.p.Verify[i], "verify")
	}
}

func (v *validator) checkScript(t *scriptTaint, c *Check, kind string) {
	v.scriptRisks(t, c.Run, c.ValPos("run"), fmt.Sprintf("%s check %q run", kind, c.Name))
}

func (v *validator) scriptRisks(t *scriptTaint, script string, pos Pos, label string) {
	if !HasExpr(script) {
		return
	}
	r := scanScript(script, t, true)
	for _, u := range r.refs {
		v.warnf(pos, "%s: %s reaches the script outside shell(), and %s: write ${{ shell(%s) }} so that its value cannot change what the script does",
			label, u.path, u.why, u.path)
	}
	if r.quotedShell != "" {
		v.warnf(pos, "%s: shell() is written inside %s: the quotes it adds become part of the value (and inside \"...\" or an unquoted here-document a $(...) still runs); write ${{ shell(...) }} as a word of its own", label, r.quotedShell)
	}
}

type taintedRef struct{ path, why string }

type scriptScan struct {
	refs        []taintedRef // untrusted names outside shell(), each once
	quotedShell string       // `"..."`, `'...'` or "a here-document" when a shell() is inside one
}

// scanScript finds the untrusted names a script's expressions use outside
// shell(), and shell() calls written inside quotes (with quotes true).
func scanScript(s string, t *scriptTaint, quotes bool) scriptScan {
	var out scriptScan
	segs, err := splitTemplate(s)
	if err != nil {
		return out // reported where expressions are checked
	}
	seen := map[string]bool{}
	lx := shLexer{wordStart: true}
	for _, seg := range segs {
		if !seg.isCode {
			lx.feed(seg.text)
			continue
		}
		outside, shellCalls := exprRefs(seg.text)
		for _, p := range outside {
			if why := t.untrusted(p); why != "" && !seen[p] {
				seen[p] = true
				out.refs = append(out.refs, taintedRef{p, why})
			}
		}
		if quotes && shellCalls && lx.state != shNormal && out.quotedShell == "" {
			out.quotedShell = lx.context()
		}
		lx.wordStart = false
		if lx.state == shHeredoc {
			lx.line = append(lx.line, 'x') // an expression is never the delimiter line
		}
	}
	return out
}

// exprRefs returns the names (env.X, host.vars.X, vars.X, ...) code reads
// outside a shell() call, and whether it calls shell().
func exprRefs(code string) (outside []string, callsShell bool) {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil, false
	}
	inside := map[ast.Node]bool{}
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		c, ok := n.(*ast.CallNode)
		if !ok {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "shell" {
			callsShell = true
			for i := range c.Arguments {
				ast.Walk(&c.Arguments[i], visitor(func(m ast.Node) { inside[m] = true }))
			}
		}
	}))
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok || inside[n] {
			return
		}
		if p := memberPath(m); p != "" && !contains(outside, p) {
			outside = append(outside, p)
		}
	}))
	sort.Strings(outside)
	return outside, callsShell
}

// memberPath spells a member read with constant names: "env.X",
// "host.vars.X", "vars.X", "release.version"; "" otherwise.
func memberPath(m *ast.MemberNode) string {
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return ""
	}
	switch n := m.Node.(type) {
	case *ast.IdentifierNode:
		return n.Value + "." + prop.Value
	case *ast.MemberNode:
		if inner := memberPath(n); inner != "" {
			return inner + "." + prop.Value
		}
	}
	return ""
}

// shLexer follows sh quoting through a script's literal text, enough to
// tell whether an expression stands inside quotes or a here-document.
type shLexer struct {
	state     int
	escaped   bool
	comment   bool
	wordStart bool
	pending   []heredoc // here-documents whose bodies start at the next newline
	doc       heredoc   // the one being read, in state shHeredoc
	line      []rune    // the here-document line read so far
}

// heredoc is a here-document's delimiter.
type heredoc struct {
	delim string
	strip bool // <<-: leading tabs are not part of the lines
}

const (
	shNormal = iota
	shSingle
	shDouble
	shHeredoc
)

// context names where the lexer is, for a message.
func (l *shLexer) context() string {
	return map[int]string{shDouble: `"..."`, shSingle: `'...'`, shHeredoc: "a here-document"}[l.state]
}

func (l *shLexer) feed(s string) {
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case l.state == shHeredoc:
			l.heredocRune(c)
			continue
		case l.comment:
			if c == '\n' {
				l.comment = false
				l.newline()
			}
			continue
		case l.escaped:
			l.escaped, l.wordStart = false, false
			continue
		}
		switch l.state {
		case shSingle:
			if c == '\'' {
				l.state = shNormal
			}
		case shDouble:
			switch c {
			case '\\':
				l.escaped = true
			case '"':
				l.state = shNormal
			}
		default:
			switch c {
			case '\\':
				l.escaped = true
			case '\'':
				l.state = shSingle
			case '"':
				l.state = shDouble
			case '#':
				if l.wordStart {
					l.comment = true
				}
			case '<':
				if i+1 < len(rs) && rs[i+1] == '<' && (i+2 >= len(rs) || rs[i+2] != '<') {
					i = l.heredocStart(rs, i+2) - 1
					continue
				}
			case '\n':
				l.newline()
				continue
			}
		}
		l.wordStart = l.state == shNormal && strings.ContainsRune(" \t\n;&|()", c)
	}
}

// heredocStart reads the delimiter of a here-document whose << ends
// before rs[i]; it returns the index after the delimiter.
func (l *shLexer) heredocStart(rs []rune, i int) int {
	h := heredoc{}
	if i < len(rs) && rs[i] == '-' {
		h.strip = true
		i++
	}
	for i < len(rs) && (rs[i] == ' ' || rs[i] == '\t') {
		i++
	}
	var word []rune
	for ; i < len(rs) && !strings.ContainsRune(" \t\n;&|()<>", rs[i]); i++ {
		if !strings.ContainsRune(`'"\`, rs[i]) {
			word = append(word, rs[i])
		}
	}
	h.delim = string(word)
	l.pending = append(l.pending, h)
	l.wordStart = false
	return i
}

// newline ends a line in normal state: a pending here-document starts.
func (l *shLexer) newline() {
	l.wordStart = true
	if len(l.pending) > 0 {
		l.doc, l.pending = l.pending[0], l.pending[1:]
		l.state, l.line = shHeredoc, l.line[:0]
	}
}

func (l *shLexer) heredocRune(c rune) {
	if c != '\n' {
		l.line = append(l.line, c)
		return
	}
	line := string(l.line)
	if l.doc.strip {
		line = strings.TrimLeft(line, "\t")
	}
	l.line = l.line[:0]
	if line != l.doc.delim {
		return
	}
	l.state = shNormal
	l.newline()
}

// shellSpecial are the characters that mean something to sh in an
// unquoted word (and control characters, checked apart).
const shellSpecial = " $`'\"\\;&|<>(){}[]*?!~#"

// patternAllowsShellSpecial returns a character special to sh that a
// settable pattern can match (quoted for a message), or "" when it can
// match none (or there is no valid pattern).
func patternAllowsShellSpecial(pattern string) string {
	if pattern == "" {
		return ""
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	var found string
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if found != "" {
			return
		}
		switch r.Op {
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			found = "any character"
		case syntax.OpLiteral:
			for _, c := range r.Rune {
				if special(c) {
					found = fmt.Sprintf("%q", c)
					return
				}
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(r.Rune); i += 2 {
				if r.Rune[i] < 0x20 {
					found = "control characters"
					return
				}
				for _, c := range shellSpecial {
					if c >= r.Rune[i] && c <= r.Rune[i+1] {
						found = fmt.Sprintf("%q", c)
						return
					}
				}
			}
		}
		for _, sub := range r.Sub {
			walk(sub)
		}
	}
	walk(re)
	return found
}

func special(c rune) bool { return c < 0x20 || c == 0x7f || strings.ContainsRune(shellSpecial, c) }
