package inventory

import (
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// iniValue is what Ansible's INI reader makes of a value: it tries
// Python's ast.literal_eval and keeps the text as written when that fails.
// So "'03#pa33w0rd'" is the string 03#pa33w0rd, "2222 # ssh" is 2222 (a
// Python comment ends the literal), and "foo # bar" stays foo # bar.
//
// golive carries vars as text: a string literal gives the string, an
// integer its decimal digits (0x10 is 16), and any other literal (a float,
// True, None, a list, a dict) the literal as written without the comment,
// where Ansible would carry a number, a boolean or a structure.
func iniValue(s string) string {
	if v, ok := pyLiteral(s); ok {
		return v
	}
	return s
}

// pyLiteral evaluates s as ast.literal_eval would, returning the text
// golive keeps (see iniValue), or false when Python would refuse it.
func pyLiteral(s string) (string, bool) {
	p := &pyParser{src: strings.TrimLeft(s, " \t")}
	if err := p.lex(); err {
		return "", false
	}
	if len(p.toks) == 0 {
		return "", false
	}
	v, ok := p.tuple()
	if !ok || p.pos != len(p.toks) {
		return "", false
	}
	return v, true
}

type pyTokKind int

const (
	pyStr pyTokKind = iota
	pyBytes
	pyNum
	pyName
	pyPunct
)

type pyTok struct {
	kind       pyTokKind
	text       string // decoded string, number text, name or punctuation
	start, end int    // byte offsets in src
	intValue   *big.Int
	imaginary  bool
}

type pyParser struct {
	src  string
	toks []pyTok
	pos  int
}

// raw is the source text of tokens [from, to).
func (p *pyParser) raw(from, to int) string {
	return p.src[p.toks[from].start:p.toks[to-1].end]
}

func (p *pyParser) peek(text string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == pyPunct && p.toks[p.pos].text == text
}

// tuple parses "expr (, expr)* [,]": a bare tuple at the top or inside
// parentheses; a single expression without a comma is just that value.
func (p *pyParser) tuple() (string, bool) {
	from := p.pos
	v, ok := p.expr()
	if !ok {
		return "", false
	}
	if !p.peek(",") {
		return v, true
	}
	for p.peek(",") {
		p.pos++
		if p.pos == len(p.toks) || p.peek(")") {
			break
		}
		if _, ok := p.expr(); !ok {
			return "", false
		}
	}
	return p.raw(from, p.pos), true
}

// expr parses a literal: strings, a signed number, a complex sum, or a
// container.
func (p *pyParser) expr() (string, bool) {
	if p.pos >= len(p.toks) {
		return "", false
	}
	from := p.pos
	t := p.toks[p.pos]
	if t.kind == pyPunct && (t.text == "+" || t.text == "-") {
		p.pos++
		n, ok := p.number()
		if !ok {
			return "", false
		}
		if n.intValue != nil {
			v := new(big.Int).Set(n.intValue)
			if t.text == "-" {
				v.Neg(v)
			}
			return p.complexTail(from, v.String())
		}
		return p.complexTail(from, p.raw(from, p.pos))
	}
	switch t.kind {
	case pyStr, pyBytes:
		return p.strs(t.kind)
	case pyNum:
		n, _ := p.number()
		if n.intValue != nil {
			return p.complexTail(from, n.intValue.String())
		}
		return p.complexTail(from, p.raw(from, p.pos))
	case pyName:
		p.pos++
		switch t.text {
		case "True", "False", "None":
			return t.text, true
		case "set":
			if p.peek("(") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == pyPunct && p.toks[p.pos+1].text == ")" {
				p.pos += 2
				return p.raw(from, p.pos), true
			}
		}
		return "", false
	}
	return p.container(from, t.text)
}

// strs concatenates adjacent string (or bytes) literals.
func (p *pyParser) strs(kind pyTokKind) (string, bool) {
	var b strings.Builder
	for p.pos < len(p.toks) && (p.toks[p.pos].kind == pyStr || p.toks[p.pos].kind == pyBytes) {
		if p.toks[p.pos].kind != kind {
			return "", false // bytes and str cannot be concatenated
		}
		b.WriteString(p.toks[p.pos].text)
		p.pos++
	}
	if !utf8.ValidString(b.String()) {
		return "", false
	}
	return b.String(), true
}

// container parses a parenthesized literal, a tuple, a list, a set or a
// dict opening with the punctuation open (at p.pos).
func (p *pyParser) container(from int, open string) (string, bool) {
	switch open {
	case "(":
		p.pos++
		if p.peek(")") {
			p.pos++
			return "()", true
		}
		inner := p.pos
		v, ok := p.tuple()
		if !ok || !p.peek(")") {
			return "", false
		}
		p.pos++
		if isSingleValue(p.toks[inner : p.pos-1]) {
			return v, true // (x) is x
		}
		return p.raw(from, p.pos), true
	case "[":
		p.pos++
		if !p.items("]", false) {
			return "", false
		}
		return p.raw(from, p.pos), true
	case "{":
		p.pos++
		if !p.items("}", true) {
			return "", false
		}
		return p.raw(from, p.pos), true
	}
	return "", false
}

// isSingleValue reports whether toks hold no top-level comma.
func isSingleValue(toks []pyTok) bool {
	depth := 0
	for _, t := range toks {
		if t.kind != pyPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 {
				return false
			}
		}
	}
	return true
}

// complexTail accepts "REAL + IMAGINARY" (Python's only allowed binary
// operation in a literal) after a number; v is the number's text.
func (p *pyParser) complexTail(from int, v string) (string, bool) {
	if !p.peek("+") && !p.peek("-") {
		return v, true
	}
	if p.pos+1 >= len(p.toks) || p.toks[p.pos+1].kind != pyNum || !p.toks[p.pos+1].imaginary {
		return "", false
	}
	p.pos += 2
	return p.raw(from, p.pos), true
}

func (p *pyParser) number() (pyTok, bool) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != pyNum {
		return pyTok{}, false
	}
	t := p.toks[p.pos]
	p.pos++
	return t, true
}

// items parses the inside of a list, set or dict up to the closing
// bracket, which it consumes.
func (p *pyParser) items(closing string, dict bool) bool {
	first, isDict := true, false
	for {
		if p.peek(closing) {
			p.pos++
			return true
		}
		if _, ok := p.expr(); !ok {
			return false
		}
		if dict && first {
			isDict = p.peek(":")
		}
		if isDict {
			if !p.peek(":") {
				return false
			}
			p.pos++
			if _, ok := p.expr(); !ok {
				return false
			}
		}
		first = false
		if p.peek(",") {
			p.pos++
			continue
		}
		if !p.peek(closing) {
			return false
		}
	}
}

// lex splits src into Python tokens; it reports true when src holds
// something no Python literal contains.
func (p *pyParser) lex() bool {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
		case c == '#':
			return false
		case strings.IndexByte("()[]{},:+-", c) >= 0:
			p.toks = append(p.toks, pyTok{kind: pyPunct, text: s[i : i+1], start: i, end: i + 1})
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			t, ok := lexNumber(s, i)
			if !ok {
				return true
			}
			p.toks = append(p.toks, t)
			i = t.end
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || isAlnum(s[j])) {
				j++
			}
			if j < len(s) && (s[j] == '\'' || s[j] == '"') {
				t, ok := lexString(s, i, j)
				if !ok {
					return true
				}
				p.toks = append(p.toks, t)
				i = t.end
				continue
			}
			p.toks = append(p.toks, pyTok{kind: pyName, text: s[i:j], start: i, end: j})
			i = j
		case c == '\'' || c == '"':
			t, ok := lexString(s, i, i)
			if !ok {
				return true
			}
			p.toks = append(p.toks, t)
			i = t.end
		default:
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigitIn(c byte, base int) bool {
	switch base {
	case 2:
		return c == '0' || c == '1'
	case 8:
		return c >= '0' && c <= '7'
	case 16:
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	return c >= '0' && c <= '9'
}

// digits scans digit (["_"] digit)* from i and returns the end, or i when
// there is none; a trailing or doubled "_" is an error (-1).
func digits(s string, i, base int) int {
	j := i
	for j < len(s) {
		if isDigitIn(s[j], base) {
			j++
			continue
		}
		if s[j] == '_' && j > i && j+1 < len(s) && isDigitIn(s[j+1], base) {
			j++
			continue
		}
		break
	}
	if j < len(s) && s[j] == '_' {
		return -1
	}
	return j
}

// lexNumber scans a Python number literal at s[i].
func lexNumber(s string, i int) (pyTok, bool) {
	t := pyTok{kind: pyNum, start: i}
	if s[i] == '0' && i+1 < len(s) && strings.IndexByte("xXoObB", s[i+1]) >= 0 {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[i+1]|0x20]
		k := i + 2
		if k < len(s) && s[k] == '_' {
			k++
		}
		j := digits(s, k, base)
		if j <= k {
			return t, false
		}
		v, ok := new(big.Int).SetString(strings.ReplaceAll(s[i+2:j], "_", ""), base)
		if !ok || j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
			return t, false
		}
		t.end, t.intValue = j, v
		return t, true
	}
	j := i
	intPart := ""
	if s[i] != '.' {
		if j = digits(s, i, 10); j < 0 {
			return t, false
		}
		intPart = strings.ReplaceAll(s[i:j], "_", "")
	}
	isFloat := false
	if j < len(s) && s[j] == '.' {
		isFloat = true
		j++
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if j = digits(s, j, 10); j < 0 {
				return t, false
			}
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		e := digits(s, k, 10)
		if e <= k {
			return t, false
		}
		isFloat, j = true, e
	}
	if j < len(s) && (s[j] == 'j' || s[j] == 'J') {
		t.imaginary, isFloat = true, true
		j++
	}
	if j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
		return t, false // "1abc", "010x"
	}
	t.end = j
	if !isFloat {
		if len(intPart) > 1 && intPart[0] == '0' && strings.Trim(intPart, "0") != "" {
			return t, false // Python 3 refuses leading zeros: 010
		}
		t.intValue, _ = new(big.Int).SetString(intPart, 10)
	}
	t.text = s[i:j]
	return t, true
}

// lexString scans a string literal whose prefix starts at i and whose
// opening quote is at q.
func lexString(s string, i, q int) (pyTok, bool) {
	prefix := strings.ToLower(s[i:q])
	raw, bytesLit := false, false
	switch prefix {
	case "":
	case "r":
		raw = true
	case "u":
	case "b":
		bytesLit = true
	case "br", "rb":
		raw, bytesLit = true, true
	default:
		return pyTok{}, false // f-strings are not literals
	}
	quote := s[q : q+1]
	if strings.HasPrefix(s[q:], strings.Repeat(quote, 3)) {
		quote = strings.Repeat(quote, 3)
	}
	var b strings.Builder
	for j := q + len(quote); j < len(s); {
		if strings.HasPrefix(s[j:], quote) {
			t := pyTok{kind: pyStr, text: b.String(), start: i, end: j + len(quote)}
			if bytesLit {
				t.kind = pyBytes
			}
			return t, true
		}
		c := s[j]
		if bytesLit && c >= 0x80 {
			return pyTok{}, false
		}
		if c != '\\' {
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(s) {
			return pyTok{}, false
		}
		if raw {
			b.WriteString(s[j : j+2])
			j += 2
			continue
		}
		n, ok := unescape(&b, s, j, bytesLit)
		if !ok {
			return pyTok{}, false
		}
		j = n
	}
	return pyTok{}, false // unterminated
}

// unescape decodes the escape sequence at s[j] (a backslash) into b and
// returns the index after it.
func unescape(b *strings.Builder, s string, j int, bytesLit bool) (int, bool) {
	c := s[j+1]
	if r, ok := map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}[c]; ok {
		b.WriteByte(r)
		return j + 2, true
	}
	switch c {
	case '0', '1', '2', '3', '4', '5', '6', '7':
		k := j + 1
		for k < len(s) && k < j+4 && s[k] >= '0' && s[k] <= '7' {
			k++
		}
		v, _ := strconv.ParseUint(s[j+1:k], 8, 32)
		writeCode(b, rune(v), bytesLit)
		return k, true
	case 'x':
		return hexEscape(b, s, j, 2, bytesLit)
	case 'u', 'U':
		if bytesLit {
			break
		}
		n := 4
		if c == 'U' {
			n = 8
		}
		return hexEscape(b, s, j, n, bytesLit)
	case 'N':
		if !bytesLit {
			return 0, false // named characters: not worth a table; kept as written
		}
	}
	b.WriteString(s[j : j+2]) // an unknown escape keeps its backslash
	return j + 2, true
}

func hexEscape(b *strings.Builder, s string, j, n int, bytesLit bool) (int, bool) {
	if j+2+n > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[j+2:j+2+n], 16, 32)
	if err != nil || v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
		return 0, false
	}
	writeCode(b, rune(v), bytesLit)
	return j + 2 + n, true
}

func writeCode(b *strings.Builder, r rune, bytesLit bool) {
	if bytesLit {
		b.WriteByte(byte(r))
		return
	}
	b.WriteRune(r)
}
