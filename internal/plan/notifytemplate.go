package plan

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"gopkg.in/yaml.v3"
)

// NotifyFields are what a notify template: may use, and all it may use:
// {{ .Plan }}, {{ range .NeedsAttention }}{{ . }}{{ end }}. Every value
// is redacted and escaped for the channel's format before the template
// sees it.
type NotifyFields struct {
	Event          string   // go, no_go, waiting, started, succeeded, failed, backed_out, needs_attention, aborted
	What           string   // the event in words: "backed out", "no-go", "needs attention"
	Plan           string   // the plan's name
	Environment    string   // the environment ("" without environments)
	Release        string   // the release version
	Previous       string   // the release live before this run ("" on a first release)
	Run            string   // the run id
	State          string   // the run's state
	Reason         string   // why (the run's reason: "w3 failed health")
	Requester      string   // who started the run
	Owner          string   // the plan's owner
	Contacts       []string // the plan's contacts
	NeedsAttention []string // what needs a person (needs_attention)
	Time           string   // when, RFC 3339 in UTC
	Summary        string   // golive's own one-line message: "shop 2.4.1 to production: backed out (w3 failed health)"
}

// NotifyFieldNames are the names of NotifyFields, in order.
var NotifyFieldNames = []string{"Event", "What", "Plan", "Environment", "Release", "Previous", "Run", "State",
	"Reason", "Requester", "Owner", "Contacts", "NeedsAttention", "Time", "Summary"}

// NotifyTemplateFuncs are the functions a notify template may call:
// text/template's comparisons and printing, and join (join LIST SEP).
var NotifyTemplateFuncs = []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println", "join"}

// TemplateProblem is one thing wrong with a notify template, at a line
// and column of the template's own text (1-based).
type TemplateProblem struct {
	Line, Col int
	Msg       string
}

func (p TemplateProblem) Error() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg) }

// ParseNotifyTemplate parses a notify template and checks that it uses
// only NotifyFields and NotifyTemplateFuncs, and that it executes on
// sample values. It returns the template, or every problem found.
func ParseNotifyTemplate(text string) (*texttemplate.Template, []TemplateProblem) {
	if HasExpr(text) {
		i := strings.Index(text, "${{")
		line, col := lineCol(text, i)
		return nil, []TemplateProblem{{line, col, "${{ }} expressions are not evaluated in a notify template; use the event's fields: {{ .Plan }}, {{ .Release }}, ..."}}
	}
	t, err := texttemplate.New("notify").Option("missingkey=error").
		Funcs(texttemplate.FuncMap{"join": strings.Join}).Parse(text)
	if err != nil {
		return nil, []TemplateProblem{templateError(err, text)}
	}
	var probs []TemplateProblem
	if len(t.Templates()) > 1 {
		probs = append(probs, TemplateProblem{1, 1, "define and block are not allowed in a notify template"})
	}
	if t.Tree != nil && t.Root != nil {
		w := &tmplWalker{tree: t.Tree, text: text}
		w.walk(t.Root)
		probs = append(probs, w.probs...)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	sample := NotifyFields{Event: "backed_out", What: "backed out", Plan: "shop", Environment: "production", Release: "2.4.1",
		Previous: "2.4.0", Run: "r-1", State: "backed_out", Reason: "w3 failed health", Requester: "rita", Owner: "web-team",
		Contacts: []string{"oncall@example.com"}, NeedsAttention: []string{"w3: backout failed"}, Time: "2026-01-01T00:00:00Z",
		Summary: "shop 2.4.1 to production: backed out (w3 failed health)"}
	if err := t.Execute(&bytes.Buffer{}, sample); err != nil {
		return nil, []TemplateProblem{templateError(err, text)}
	}
	return t, nil
}

// templateLoc matches text/template's "template: notify:LINE[:COL]: MSG".
var templateLoc = regexp.MustCompile(`^template: notify:(\d+)(?::(\d+))?: (?:executing "notify" at <[^>]*>: )?(.*)$`)

var undefinedFunc = regexp.MustCompile(`^function "([^"]+)" not defined$`)

func templateError(err error, text string) TemplateProblem {
	m := templateLoc.FindStringSubmatch(err.Error())
	if m == nil {
		return TemplateProblem{1, 1, strings.TrimPrefix(err.Error(), "template: ")}
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	if m[2] != "" {
		// text/template counts the column from 0, in bytes.
		c, _ := strconv.Atoi(m[2])
		col = byteCol(text, line, c)
	} else if f := undefinedFunc.FindStringSubmatch(m[3]); f != nil {
		// Parse errors name only the line: point at the function.
		lines := strings.Split(text, "\n")
		if line <= len(lines) {
			if i := strings.Index(lines[line-1], f[1]); i >= 0 {
				col = len([]rune(lines[line-1][:i])) + 1
			}
		}
		return TemplateProblem{line, col, fmt.Sprintf("function %q is not allowed in a notify template: use %s", f[1], strings.Join(NotifyTemplateFuncs, ", "))}
	}
	return TemplateProblem{line, col, m[3]}
}

// byteCol turns a 0-based byte column of a line into a 1-based
// character column.
func byteCol(text string, line, c int) int {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) || c > len(lines[line-1]) {
		return c + 1
	}
	return len([]rune(lines[line-1][:c])) + 1
}

func lineCol(text string, off int) (int, int) {
	before := text[:off]
	line := strings.Count(before, "\n") + 1
	return line, len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
}

// tmplWalker finds what a notify template may not use.
type tmplWalker struct {
	tree  *parse.Tree
	text  string
	probs []TemplateProblem
}

func (w *tmplWalker) bad(n parse.Node, format string, args ...any) {
	line, col := lineCol(w.text, min(int(n.Position()), len(w.text)))
	w.probs = append(w.probs, TemplateProblem{line, col, fmt.Sprintf(format, args...)})
}

func (w *tmplWalker) field(n parse.Node, name string) {
	if !slices.Contains(NotifyFieldNames, name) {
		w.bad(n, "unknown field .%s: a notify template may use %s", name, fieldList())
	}
}

func fieldList() string {
	out := make([]string, len(NotifyFieldNames))
	for i, f := range NotifyFieldNames {
		out[i] = "." + f
	}
	return strings.Join(out, ", ")
}

func (w *tmplWalker) walk(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			w.walk(c)
		}
	case *parse.ActionNode:
		w.walk(n.Pipe)
	case *parse.IfNode:
		w.branch(&n.BranchNode)
	case *parse.RangeNode:
		w.branch(&n.BranchNode)
	case *parse.WithNode:
		w.branch(&n.BranchNode)
	case *parse.TemplateNode:
		w.bad(n, "{{ template }} is not allowed in a notify template")
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			w.walk(c)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			w.walk(a)
		}
	case *parse.IdentifierNode:
		if !slices.Contains(NotifyTemplateFuncs, n.Ident) {
			w.bad(n, "function %q is not allowed in a notify template: use %s", n.Ident, strings.Join(NotifyTemplateFuncs, ", "))
		}
	case *parse.FieldNode:
		w.field(n, n.Ident[0])
		if len(n.Ident) > 1 {
			w.bad(n, ".%s has no fields", n.Ident[0])
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 {
			if n.Ident[0] != "$" || len(n.Ident) > 2 {
				w.bad(n, "%s: only $.FIELD may be used", strings.Join(n.Ident, "."))
			} else {
				w.field(n, n.Ident[1])
			}
		}
	case *parse.ChainNode:
		w.bad(n, "(...).FIELD is not allowed in a notify template")
	}
}

func (w *tmplWalker) branch(b *parse.BranchNode) {
	w.walk(b.Pipe)
	w.walk(b.List)
	if b.ElseList != nil {
		w.walk(b.ElseList)
	}
}

// checkNotifyTemplate reports a notify template's problems where they are
// written in the plan file.
func (d *decoder) checkNotifyTemplate(n *yaml.Node) {
	_, probs := ParseNotifyTemplate(n.Value)
	for _, p := range probs {
		d.errorf(d.src.templatePos(n, p.Line, p.Col), "notify template: %s", p.Msg)
	}
}

// templatePos maps a line and column of a scalar's value to the file: exact
// for block scalars (|) and one-line plain or quoted scalars; the scalar's
// start otherwise.
func (s *source) templatePos(n *yaml.Node, line, col int) Pos {
	start := posOf(n)
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && s != nil:
		if n.Line < 1 || n.Line >= len(s.lines) {
			return start
		}
		indent := 0
		for l := n.Line; l < len(s.lines); l++ { // the first content line after the indicator
			text := s.lineText(l)
			if strings.TrimSpace(text) == "" {
				continue
			}
			indent = len(text) - len(strings.TrimLeft(text, " "))
			break
		}
		if n.Style&yaml.LiteralStyle == 0 {
			return Pos{Line: n.Line + 1, Col: indent + 1}
		}
		return Pos{Line: n.Line + line, Col: indent + col}
	case line == 1 && !strings.Contains(n.Value, "\n"):
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			return Pos{Line: start.Line, Col: start.Col + col}
		}
		return Pos{Line: start.Line, Col: start.Col + col - 1}
	}
	return start
}

// lineText returns the text of the 0-based line i.
func (s *source) lineText(i int) string {
	end := len(s.data)
	if i+1 < len(s.lines) {
		end = s.lines[i+1] - 1
	}
	return string(s.data[s.lines[i]:end])
}
