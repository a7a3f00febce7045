package inventory

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// bracketedHostLine is a host line starting with "[ADDRESS]:PORT", not a
// section header.
var bracketedHostLine = regexp.MustCompile(`^\[[^\]]*\]:[0-9]`)

// maxLineLen bounds INI lines; no real inventory line comes close.
const maxLineLen = 64 << 10

type sectionKind int

const (
	sectionHosts sectionKind = iota
	sectionVars
	sectionChildren
)

type iniParser struct {
	b     *builder
	kind  sectionKind
	group string
	// As in Ansible, a [group:vars] section or a [x:children] entry must
	// name a group that has a hosts or children section somewhere in the
	// file: known are the groups seen so far, pending those still owed.
	known        map[string]bool
	pendingVars  map[string]*Error
	pendingChild map[string]*Error
}

// ParseINI parses an Ansible INI inventory.
func ParseINI(data []byte) (*Inventory, error) {
	b, err := readINI(data)
	if err != nil {
		return nil, err
	}
	return b.build()
}

func readINI(data []byte) (*builder, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	p := &iniParser{b: newBuilder(), kind: sectionHosts, group: groupUngrouped,
		known:       map[string]bool{groupAll: true, groupUngrouped: true},
		pendingVars: map[string]*Error{}, pendingChild: map[string]*Error{}}
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > maxLineLen {
			return nil, errAt(n, 0, "line too long (%d bytes, at most %d)", len(line), maxLineLen)
		}
		if err := p.line(n, string(bytes.TrimSuffix(line, []byte("\r")))); err != nil {
			return nil, err
		}
	}
	if err := firstPending(p.pendingVars, p.pendingChild); err != nil {
		return nil, err
	}
	return p.b, nil
}

// firstPending returns the earliest reference to a group never defined.
func firstPending(sets ...map[string]*Error) *Error {
	var first *Error
	for _, set := range sets {
		for _, e := range set {
			if first == nil || e.Line < first.Line || e.Line == first.Line && e.Msg < first.Msg {
				first = e
			}
		}
	}
	return first
}

func (p *iniParser) line(n int, raw string) error {
	text := strings.TrimLeft(raw, " \t")
	indent := len(raw) - len(text)
	text = strings.TrimRight(text, " \t")
	switch {
	case text == "" || text[0] == '#' || text[0] == ';':
		return nil
	case text[0] == '[' && !bracketedHostLine.MatchString(text):
		return p.section(n, indent, text)
	}
	switch p.kind {
	case sectionVars:
		return p.varLine(n, indent, text)
	case sectionChildren:
		return p.childLine(n, indent, text)
	default:
		return p.hostLine(n, raw)
	}
}

// section parses "[name]", "[name:vars]" or "[name:children]".
func (p *iniParser) section(n, indent int, text string) error {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return errAt(n, indent+1, "invalid section header %q: missing ]", text)
	}
	if rest := strings.TrimLeft(text[end+1:], " \t"); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return errAt(n, col(text, end+1)+indent, "unexpected %q after section header", rest)
	}
	name, suffix, hasSuffix := strings.Cut(strings.TrimSpace(text[1:end]), ":")
	if !validGroupName(name) {
		return errAt(n, indent+2, "invalid group name %q", name)
	}
	p.group = name
	switch {
	case !hasSuffix:
		p.kind = sectionHosts
	case suffix == "vars":
		p.kind = sectionVars
	case suffix == "children":
		p.kind = sectionChildren
	default:
		return errAt(n, indent+2, "unknown section suffix %q in [%s] (want vars or children)", suffix, text[1:end])
	}
	if !p.known[name] {
		if p.kind == sectionVars && p.pendingVars[name] == nil {
			p.pendingVars[name] = errAt(n, indent+2, "[%s:vars]: group %q is not defined: it needs a [%s] or [%s:children] section (Ansible refuses this too)", name, name, name, name)
		}
		p.known[name] = true
	}
	if p.kind != sectionVars {
		delete(p.pendingVars, name)
		delete(p.pendingChild, name)
	}
	p.b.group(name)
	return nil
}

// varLine parses "key=value" in a [group:vars] section. As in Ansible the
// value is the rest of the line read as a Python literal when it is one
// (so quotes are removed and a trailing "# comment" after a literal is
// dropped) and kept as written when it is not (see iniValue).
func (p *iniParser) varLine(n, indent int, text string) error {
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		return errAt(n, indent+1, "expected key=value in [%s:vars], got %q", p.group, text)
	}
	key = strings.TrimSpace(key)
	value = iniValue(strings.TrimSpace(value))
	g := p.b.group(p.group)
	err := setGroupVar(g, g.vars, key, varDef{value: value, line: n, col: indent + 1})
	var e *Error
	if errors.As(err, &e) && strings.Contains(value, "#") {
		e.Msg += ` (in [group:vars] a "# comment" after a value that is not a Python literal is part of the value, as in Ansible: quote the value, as in key="value" # comment)`
	}
	return err
}

// childLine parses one child group name in a [group:children] section.
func (p *iniParser) childLine(n, indent int, text string) error {
	name := text
	if i := strings.Index(name, " #"); i >= 0 {
		name = strings.TrimSpace(name[:i])
	}
	if !validGroupName(name) {
		return errAt(n, indent+1, "invalid group name %q in [%s:children]", name, p.group)
	}
	if !p.known[name] && p.pendingChild[name] == nil {
		p.pendingChild[name] = errAt(n, indent+1, "[%s:children] names group %q, which is not defined: it needs a [%s] or [%s:children] section (Ansible refuses this too)", p.group, name, name, name)
	}
	return p.b.addChild(p.group, name, n, indent+1)
}

// hostLine parses "pattern [key=value ...]".
func (p *iniParser) hostLine(n int, raw string) error {
	toks, terr := tokenize(raw)
	if terr != nil {
		terr.Line = n
		return terr
	}
	if len(toks) == 0 {
		return nil
	}
	first := toks[0]
	if strings.Contains(first.text, "=") {
		return errAt(n, first.col, "expected a host name before %q", first.text)
	}
	hp, err := p.b.expand(first.text, n, first.col)
	if err != nil {
		return err
	}
	vars := map[string]varDef{}
	for _, t := range toks[1:] {
		key, value, ok := strings.Cut(t.text, "=")
		if !ok {
			return errAt(n, t.col, "expected key=value after host %q, got %q", first.text, t.text)
		}
		if err := setVar(vars, key, varDef{value: iniValue(value), line: n, col: t.col}); err != nil {
			return err
		}
	}
	return p.b.addHosts(hp, p.group, vars, n, first.col)
}

type token struct {
	text string // unquoted
	raw  string // as written
	col  int    // 1-based, in characters
}

// tokenize splits a host line as Ansible does (Python's shlex in POSIX
// mode with comments): blanks separate tokens, '...' is literal, "..."
// allows \" and \\, a backslash outside quotes escapes the next character,
// and "#" outside quotes ends the line, even inside a token (a=b#c is a=b).
// The returned *Error has no line set.
func tokenize(s string) ([]token, *Error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) || s[i] == '#' {
			return toks, nil
		}
		start := i
		var b strings.Builder
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			switch c := s[i]; c {
			case '\'', '"':
				j := closingQuote(s, i)
				if j < 0 {
					return nil, &Error{Col: col(s, i), Msg: "unterminated quoted string"}
				}
				body := s[i+1 : j]
				if c == '"' {
					body = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(body)
				}
				b.WriteString(body)
				i = j + 1
			case '#':
				toks = append(toks, token{text: b.String(), raw: s[start:i], col: col(s, start)})
				return toks, nil
			case '\\':
				if i+1 < len(s) {
					i++
				}
				fallthrough
			default:
				b.WriteByte(s[i])
				i++
			}
		}
		toks = append(toks, token{text: b.String(), raw: s[start:i], col: col(s, start)})
	}
}

// closingQuote returns the index of the quote closing the one at s[i], or -1.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q == '"' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\'):
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

// col is the 1-based character column of byte offset i in s.
func col(s string, i int) int { return utf8.RuneCountInString(s[:i]) + 1 }
