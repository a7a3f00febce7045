package plan

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"
)

// exprSite is one expression written in the plan: a ${{ }} in a string, or
// a when: or condition:.
type exprSite struct {
	node Pos    // the scalar holding it (what Meta.ValPos and Var.Pos give)
	pos  Pos    // the expression itself: its ${{, or the condition
	code string // the code inside ${{ }}, or the condition's code
	cond bool   // a when: or condition: (evaluated; a missing env.X or host.vars.X reads as nil)
	top  string // the top-level key it is under (stages, vars, ...)
}

// source is a plan file's text, to find where in a scalar an expression is.
type source struct {
	data  []byte
	lines []int // byte offset of each line's start
}

func newSource(data []byte) *source {
	s := &source{data: data, lines: []int{0}}
	for i, b := range data {
		if b == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// offset returns the byte offset of a 1-based line and column (in
// characters), or -1.
func (s *source) offset(p Pos) int {
	if s == nil || p.Line < 1 || p.Line > len(s.lines) {
		return -1
	}
	off := s.lines[p.Line-1]
	for c := 1; c < p.Col && off < len(s.data) && s.data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(s.data[off:])
		off += size
	}
	return off
}

// pos returns the line and column of a byte offset.
func (s *source) pos(off int) Pos {
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	return Pos{Line: i + 1, Col: utf8.RuneCount(s.data[s.lines[i]:off]) + 1}
}

// exprPos finds the k-th (from 0) "${{" of the scalar written at start:
// the place to point at for the scalar's k-th expression. Quoting, escapes
// and folding move text around, but never an "${{", so counting them in
// the file's text finds it. It returns start when the text is not there.
func (s *source) exprPos(start Pos, k int) Pos {
	off := s.offset(start)
	if off < 0 {
		return start
	}
	for rest := off; ; k-- {
		i := bytes.Index(s.data[rest:], []byte("${{"))
		if i < 0 {
			return start
		}
		if k == 0 {
			return s.pos(rest + i)
		}
		rest += i + 3
	}
}

// problem is what is wrong with one expression of a string, at the byte
// offset of its ${{ in the string.
type problem struct {
	offset int
	err    error
}

// templateProblems checks every expression in s and returns every problem,
// in order: a string's second bad expression is reported as well as its
// first.
func templateProblems(s string, vars map[string]bool) []problem {
	return templateProblemsWith(s, vars, nil)
}

// templateProblemsWith is templateProblems with extra roots allowed.
func templateProblemsWith(s string, vars map[string]bool, extra map[string][]string) []problem {
	var out []problem
	pos := 0
	for {
		i := strings.Index(s[pos:], "${{")
		if i < 0 {
			return out
		}
		start := pos + i
		end := strings.Index(s[start+3:], "}}")
		if end < 0 {
			return append(out, problem{start, errors.New("unclosed ${{: an expression ends with }}")})
		}
		code := strings.TrimSpace(s[start+3 : start+3+end])
		if code == "" {
			out = append(out, problem{start, errors.New("empty expression ${{ }}")})
		} else if err := checkNames(code, vars, false, extra); err != nil {
			out = append(out, problem{start, err})
		}
		pos = start + 3 + end + 2
	}
}

// exprCount is how many "${{" s holds before byte offset off.
func exprCount(s string, off int) int { return strings.Count(s[:off], "${{") }

// pipeError explains a | in an expression: golive's expressions have no
// filters; a function is called on the value instead.
func pipeError(code string) error {
	toks, err := lexer.Lex(file.NewSource(code))
	if err != nil {
		return nil
	}
	for _, t := range toks {
		if t.Kind == lexer.Operator && t.Value == "|" {
			example := "upper(release.version)"
			if m := pipeRe.FindStringSubmatch(code); m != nil {
				example = m[2] + "(" + m[1] + ")"
			}
			return fmt.Errorf("invalid expression %q: pipes (|) are not supported: call a function on the value instead, as in ${{ %s }}; the functions are %s", code, example, FunctionList())
		}
	}
	return nil
}

// pipeRe matches the simple "VALUE | FUNCTION" form, to show it rewritten.
var pipeRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*\|\s*([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?$`)

// commonBuiltins are the built-ins of expr named in messages, the ones a
// plan is likely to want; the others work too.
var commonBuiltins = []string{"upper", "lower", "trim", "trimPrefix", "trimSuffix", "replace", "split", "join", "hasPrefix", "hasSuffix", "indexOf", "len", "string", "int", "first", "last", "now", "date", "toJSON", "fromJSON"}

// FunctionList names the functions expressions may call: shell() and
// expr's built-ins.
func FunctionList() string {
	names := []string{"shell()"}
	for _, n := range commonBuiltins {
		if contains(builtin.Names, n) {
			names = append(names, n+"()")
		}
	}
	return strings.Join(names, ", ") + " and the rest of expr's built-ins (https://expr-lang.org/docs/language-definition)"
}

// valueRef is a value an expression reads that may be missing: secrets.X,
// env.X or host.vars.X, unless written with a default (X ?? "...").
type valueRef struct {
	root string // "secrets", "env", "host.vars"
	name string
}

// valueRefs lists the secrets, env and host vars code reads without a
// default, as needValues would find them missing at run time.
func valueRefs(code string) []valueRef {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil
	}
	defaulted := map[ast.Node]bool{}
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "??" {
			defaulted[b.Left] = true
		}
	}))
	var out []valueRef
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok || defaulted[n] {
			return
		}
		prop, isStr := m.Property.(*ast.StringNode)
		if !isStr {
			return
		}
		switch root := memberRoot(m); root {
		case "secrets", "env", "host.vars":
			r := valueRef{root, prop.Value}
			for _, x := range out {
				if x == r {
					return
				}
			}
			out = append(out, r)
		}
	}))
	return out
}

// sitesAt returns the expressions of the scalar at pos (a value's
// position; an alias's position leads to the anchored scalar).
func (p *Plan) sitesAt(pos Pos) []exprSite {
	if to, ok := p.aliases[pos]; ok {
		pos = to
	}
	if p.exprAt == nil {
		p.exprAt = map[Pos][]exprSite{}
		for _, s := range p.exprs {
			p.exprAt[s.node] = append(p.exprAt[s.node], s)
		}
	}
	return p.exprAt[pos]
}
