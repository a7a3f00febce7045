// Package secrets reads the values that ${{ secrets.X }} stands for: from
// the controller's environment (GOLIVE_SECRET_X) or from a secrets file of
// NAME=VALUE lines (a multi-line value, such as a PEM key, as NAME<<END,
// its lines, then a line END). Values never leave this package except
// into a redact.Redactor and the scope of the commands that need them.
// No error of this package quotes anything from the file, names included
// (a malformed line may be part of a key): errors give the line, the
// column and, for a name, the one character refused.
package secrets

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix starts the environment variables that hold secrets.
const EnvPrefix = "GOLIVE_SECRET_"

// Load returns the secrets from environ (os.Environ form) and, when file
// is not empty, from file; the file wins.
func Load(environ []string, file string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) && len(k) > len(EnvPrefix) {
			out[k[len(EnvPrefix):]] = v
		}
	}
	if file == "" {
		return out, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	defer f.Close()
	p := &parser{file: file, sc: bufio.NewScanner(f), first: map[string]int{}}
	p.sc.Buffer(make([]byte, 64*1024), 1<<20)
	fromFile, err := p.parse()
	if err != nil {
		return nil, err
	}
	for k, v := range fromFile {
		out[k] = v
	}
	return out, nil
}

// parser reads a secrets file line by line.
type parser struct {
	file  string
	sc    *bufio.Scanner
	line  int
	first map[string]int // name -> the line that gave it
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("secrets file %s:%d: %s", p.file, p.line, fmt.Sprintf(format, args...))
}

func (p *parser) next() (string, bool) {
	if !p.sc.Scan() {
		return "", false
	}
	p.line++
	return p.sc.Text(), true
}

func (p *parser) parse() (map[string]string, error) {
	out := map[string]string{}
	for {
		raw, ok := p.next()
		if !ok {
			break
		}
		if p.line == 1 {
			raw = strings.TrimPrefix(raw, "\uFEFF") // saved by an editor that marks UTF-8
		}
		text := strings.TrimSpace(raw)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, v, err := p.entry(text)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	if err := p.sc.Err(); err != nil {
		return nil, fmt.Errorf("secrets file %s: after line %d: %w", p.file, p.line, err)
	}
	return out, nil
}

// entry reads one secret starting at text: NAME=VALUE, or NAME<<END and
// the lines up to END.
func (p *parser) entry(text string) (name, value string, err error) {
	eq, heredoc := strings.IndexByte(text, '='), strings.Index(text, "<<")
	if eq < 0 && heredoc < 0 {
		return "", "", p.errorf("want NAME=VALUE, or NAME<<END then the value's lines up to a line END")
	}
	if heredoc >= 0 && (eq < 0 || heredoc < eq) {
		name = unexport(text[:heredoc])
		if err := p.name(name); err != nil {
			return "", "", err
		}
		value, err = p.heredoc(strings.TrimSpace(text[heredoc+2:]))
		return name, value, err
	}
	name = unexport(text[:eq])
	if err := p.name(name); err != nil {
		return "", "", err
	}
	value = strings.TrimSpace(text[eq+1:])
	if strings.HasPrefix(value, "<<") {
		return "", "", p.errorf("a value starting with << after = : for a multi-line value write NAME<<END (no =)")
	}
	return name, unquote(value), nil
}

// unexport is the name before = or <<, without a leading "export" and
// blanks.
func unexport(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		return strings.TrimSpace(rest)
	}
	return s
}

// name checks a secret's name (what ${{ secrets.NAME }} and
// GOLIVE_SECRET_NAME write) and that the file gives it once.
func (p *parser) name(name string) error {
	if name == "" {
		return p.errorf("a secret without a name: want NAME=VALUE")
	}
	for i, r := range name {
		if r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.') {
			continue
		}
		what := fmt.Sprintf("%q", r)
		if r < 0x20 || r == 0x7f || r >= 0x80 {
			what = fmt.Sprintf("%U", r)
		}
		return p.errorf("a secret's name is letters, digits, _, - and ., starting with a letter or _: character %d of the name is %s", i+1, what)
	}
	if l, ok := p.first[name]; ok {
		return p.errorf("this secret's name was given on line %d already (each secret once)", l)
	}
	p.first[name] = p.line
	return nil
}

// heredoc reads the lines after NAME<<END up to a line END, kept as they
// are (joined with newlines, without the last one).
func (p *parser) heredoc(end string) (string, error) {
	if !isMarker(end) {
		return "", p.errorf("want an end marker word after << (letters, digits and _; NAME<<END, then the value's lines, then a line END)")
	}
	start := p.line
	var lines []string
	for {
		raw, ok := p.next()
		if !ok {
			if err := p.sc.Err(); err != nil {
				return "", fmt.Errorf("secrets file %s: after line %d: %w", p.file, p.line, err)
			}
			return "", fmt.Errorf("secrets file %s:%d: the value started by << is not closed: no line with its end marker after it", p.file, start)
		}
		if strings.TrimRight(raw, " \t\r") == end {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, strings.TrimSuffix(raw, "\r"))
	}
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// isMarker reports whether s can end a multi-line value: a word of
// letters, digits and _.
func isMarker(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
