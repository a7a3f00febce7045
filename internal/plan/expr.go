package plan

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Scope is what expressions can see. Maps hold strings, []string or nested
// maps; missing keys read as empty.
type Scope struct {
	Release map[string]any // version, previous
	Host    map[string]any // name, address, roles, vars
	Vars    map[string]string
	Env     map[string]string // the controller's environment
	Secrets map[string]string
	Run     map[string]any // id
	Stage   map[string]any // name
	Batch   map[string]any // index
	Result  any            // monitor conditions only
	Hosts   map[string]any // regex, names_regex: compare monitor queries only
}

// SecretRequest is a secret an expression needs that the scope lacks.
type SecretRequest struct{ Name string }

func (s SecretRequest) Error() string {
	return fmt.Sprintf("secret %q is not set: export GOLIVE_SECRET_%s or pass --secrets-file", s.Name, s.Name)
}

func (s *Scope) env() map[string]any {
	m := map[string]any{
		"release": orEmpty(s.Release), "host": orEmpty(s.Host), "vars": strMap(s.Vars),
		"env": strMap(s.Env), "secrets": strMap(s.Secrets), "run": orEmpty(s.Run),
		"stage": orEmpty(s.Stage), "batch": orEmpty(s.Batch),
	}
	if s.Result != nil {
		m["result"] = s.Result
	}
	if s.Hosts != nil {
		m["hosts"] = s.Hosts
	}
	return m
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func strMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// roots are the names every expression may use, and the members each
// allows (nil: any member).
var roots = map[string][]string{
	"release": {"version", "previous"},
	"host":    {"name", "address", "roles", "vars"},
	"vars":    nil,
	"env":     nil,
	"secrets": nil,
	"run":     {"id"},
	"stage":   {"name"},
	"batch":   {"index"},
}

// functions are the functions expressions may call, besides expr's
// builtins.
var functions = map[string]bool{"shell": true}

// exprOptions registers functions with expr.
var exprOptions = []expr.Option{
	expr.Function("shell", func(params ...any) (any, error) {
		if len(params) != 1 {
			return nil, fmt.Errorf("shell() takes one value, got %d", len(params))
		}
		return ShellQuote(Format(params[0])), nil
	}, new(func(any) string)),
}

// ShellQuote renders s as one word for a POSIX shell: single-quoted, a
// quote in s closed, backslash-escaped and reopened. Nothing inside it is
// expanded by sh.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// template is an environment with every root, for compiling.
func template(withResult bool) map[string]any {
	m := map[string]any{}
	for k := range roots {
		m[k] = map[string]any{}
	}
	if withResult {
		m["result"] = 0.0
	}
	return m
}

// segment is a piece of a string with expressions: literal text or code.
type segment struct {
	text   string
	isCode bool
	offset int // byte offset of the segment in the string
}

// splitTemplate splits s into literal text and ${{ code }} parts.
func splitTemplate(s string) ([]segment, error) {
	var out []segment
	pos := 0
	for {
		i := strings.Index(s[pos:], "${{")
		if i < 0 {
			if pos < len(s) {
				out = append(out, segment{text: s[pos:], offset: pos})
			}
			return out, nil
		}
		start := pos + i
		if start > pos {
			out = append(out, segment{text: s[pos:start], offset: pos})
		}
		end := strings.Index(s[start+3:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("unclosed ${{ at offset %d: expressions end with }}", start)
		}
		code := strings.TrimSpace(s[start+3 : start+3+end])
		if code == "" {
			return nil, errors.New("empty expression ${{ }}")
		}
		out = append(out, segment{text: code, isCode: true, offset: start})
		pos = start + 3 + end + 2
	}
}

var varRefRe = regexp.MustCompile(`vars\.([A-Za-z_][A-Za-z0-9_]*)`)

// VarRefs returns the names of the vars a string's expressions use.
func VarRefs(s string) []string {
	if !HasExpr(s) {
		return nil
	}
	var out []string
	for _, m := range varRefRe.FindAllStringSubmatch(s, -1) {
		if !contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// HasExpr reports whether s contains a ${{ }} expression.
func HasExpr(s string) bool { return strings.Contains(s, "${{") }

// CheckNames reports the unknown names an expression uses. vars lists
// the plan's vars; withResult allows `result` (monitor conditions).
// A | is refused with the functions to call instead: expressions have no
// filters.
func CheckNames(code string, vars map[string]bool, withResult bool) error {
	return checkNames(code, vars, withResult, nil)
}

// checkNames is CheckNames with extra roots (and their members) allowed.
func checkNames(code string, vars map[string]bool, withResult bool, extra map[string][]string) error {
	if err := pipeError(code); err != nil {
		return err
	}
	tree, err := parser.Parse(code)
	if err != nil {
		return fmt.Errorf("invalid expression %q: %s", code, firstLine(err.Error()))
	}
	var problems []string
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		if err := checkNode(n, vars, withResult, extra); err != nil && !contains(problems, err.Error()) {
			problems = append(problems, err.Error())
		}
	}))
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	env := template(withResult)
	for k := range extra {
		env[k] = map[string]any{}
	}
	if _, err := expr.Compile(code, append([]expr.Option{expr.Env(env)}, exprOptions...)...); err != nil {
		return fmt.Errorf("invalid expression %q: %s", code, firstLine(err.Error()))
	}
	return nil
}

func checkNode(n ast.Node, vars map[string]bool, withResult bool, extra map[string][]string) error {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if _, ok := roots[n.Value]; ok || (withResult && n.Value == "result") || functions[n.Value] {
			return nil
		}
		if _, ok := extra[n.Value]; ok {
			return nil
		}
		if n.Value == "hosts" {
			return fmt.Errorf("unknown name %q in expression: use one of %s (hosts.regex and hosts.names_regex are only known in the query of a monitor with compare)", n.Value, rootList(withResult))
		}
		return fmt.Errorf("unknown name %q in expression: use one of %s", n.Value, rootList(withResult))
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		prop, isStr := n.Property.(*ast.StringNode)
		if !ok || !isStr {
			return nil
		}
		allowed, known := roots[id.Value]
		if x, ok := extra[id.Value]; ok {
			allowed, known = x, true
		}
		if !known {
			return nil // reported as an identifier
		}
		if id.Value == "vars" && !vars[prop.Value] {
			return fmt.Errorf("unknown variable vars.%s: the plan's vars are %s", prop.Value, listOrNone(vars))
		}
		if allowed != nil && !contains(allowed, prop.Value) {
			return fmt.Errorf("unknown name %s.%s: %s has %s", id.Value, prop.Value, id.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func rootList(withResult bool) string {
	var names []string
	for k := range roots {
		names = append(names, k)
	}
	if withResult {
		names = append(names, "result")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func listOrNone(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// CheckTemplate checks every expression in s and returns the first
// problem (templateProblems has them all).
func CheckTemplate(s string, vars map[string]bool) error {
	if ps := templateProblems(s, vars); len(ps) > 0 {
		return ps[0].err
	}
	return nil
}

// Render replaces every ${{ }} in s with its value in scope.
func Render(s string, scope *Scope) (string, error) {
	if !HasExpr(s) {
		return s, nil
	}
	segs, err := splitTemplate(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.isCode {
			b.WriteString(seg.text)
			continue
		}
		v, err := eval(seg.text, scope, true)
		if err != nil {
			return "", err
		}
		b.WriteString(Format(v))
	}
	return b.String(), nil
}

// Eval evaluates one expression in scope.
func Eval(code string, scope *Scope) (any, error) { return eval(code, scope, false) }

func eval(code string, scope *Scope, strict bool) (any, error) {
	if err := needValues(code, scope, strict); err != nil {
		return nil, err
	}
	env := scope.env()
	program, err := expr.Compile(code, append([]expr.Option{expr.Env(env)}, exprOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", code, firstLine(err.Error()))
	}
	v, err := expr.Run(program, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", code, firstLine(err.Error()))
	}
	return v, nil
}

// EvalBool evaluates a condition: the whole string, or one ${{ }}.
func EvalBool(cond string, scope *Scope) (bool, error) {
	code := UnwrapCondition(cond)
	v, err := Eval(code, scope)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %q gave %s, not true or false", code, Format(v))
	}
	return b, nil
}

// UnwrapCondition returns the code of a condition written bare or as one
// ${{ }} expression.
func UnwrapCondition(cond string) string {
	c := strings.TrimSpace(cond)
	if strings.HasPrefix(c, "${{") && strings.HasSuffix(c, "}}") && strings.Count(c, "${{") == 1 {
		return strings.TrimSpace(c[3 : len(c)-2])
	}
	return c
}

// needValues reports a value an expression reads that is not there: a
// secret always; with strict (rendering a string), also an unset env.X or
// a missing host.vars.X — an empty value in `rm -rf "${{ env.ROOT }}/x"` is
// never what was meant. `env.X ?? "default"` opts out.
func needValues(code string, scope *Scope, strict bool) error {
	tree, err := parser.Parse(code)
	if err != nil {
		return fmt.Errorf("invalid expression %q: %s", code, firstLine(err.Error()))
	}
	defaulted := map[ast.Node]bool{}
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "??" {
			defaulted[b.Left] = true
		}
	}))
	var missing error
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok || missing != nil || defaulted[n] {
			return
		}
		prop, isStr := m.Property.(*ast.StringNode)
		if !isStr {
			return
		}
		switch root := memberRoot(m); root {
		case "secrets":
			if _, have := scope.Secrets[prop.Value]; !have {
				missing = SecretRequest{Name: prop.Value}
			}
		case "env":
			if _, have := scope.Env[prop.Value]; strict && !have {
				missing = fmt.Errorf("env.%s: %s is not set in golive's environment (write ${{ env.%s ?? \"\" }} if empty is fine)", prop.Value, prop.Value, prop.Value)
			}
		case "host.vars":
			vars, _ := scope.Host["vars"].(map[string]any)
			if _, have := vars[prop.Value]; strict && scope.Host != nil && !have {
				missing = fmt.Errorf("host.vars.%s: host %v has no var %s", prop.Value, scope.Host["name"], prop.Value)
			}
		}
	}))
	return missing
}

// memberRoot names what a member is read from: "env" for env.X,
// "host.vars" for host.vars.X.
func memberRoot(m *ast.MemberNode) string {
	switch n := m.Node.(type) {
	case *ast.IdentifierNode:
		return n.Value
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		prop, isStr := n.Property.(*ast.StringNode)
		if ok && isStr {
			return id.Value + "." + prop.Value
		}
	}
	return ""
}

// Format renders a value as text: lists joined with commas.
func Format(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []string:
		return strings.Join(v, ",")
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = Format(x)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}
