// Package values checks the values golive is given at run time — release
// versions, ticket ids, environment and actor names, free text such as
// reasons and comments, var overrides — and the names that key its records
// (plan, host, role, environment). The rules are strict on purpose: a value
// that passes can be put into a file name, a URL, a log line or a journal
// without quoting surprises, and none of the character sets a value may use
// has a character that means something to a POSIX shell.
//
// Every check returns nil or an *Error that names the input, the value
// (escaped so that it is safe on a terminal), and the first offending
// character with its position. The CLI maps an *Error to exit 2; the HTTP
// server maps it to 422. The package is a leaf: plan, inventory, load, cli
// and the server all use the same rules.
package values

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the contract.
const (
	MaxVersion = 128
	MaxTicket  = 64
	MaxName    = 253 // plan, host, role and environment names (a DNS name fits)
	MaxActor   = 128
	// MaxText is the longest free text (a reason, a comment) golive keeps.
	MaxText = 4 << 10
	// MaxOverride is the longest value a --set override may have.
	MaxOverride = 64 << 10
)

// Error is a value that breaks its rule.
type Error struct {
	Input string // what was given: "--release", "ticket", "host name", ...
	Value string // the value as given
	Pos   int    // 1-based character position of the offending character; 0 when the value as a whole is wrong
	Char  string // the offending character, escaped (`'"'`, `\x1b`, `\n`); "" when Pos is 0
	Why   string // the rule, said once
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Input, Quote(e.Value))
	if e.Pos > 0 {
		fmt.Fprintf(&b, ": character %s at position %d is not allowed", e.Char, e.Pos)
	}
	fmt.Fprintf(&b, ": %s", e.Why)
	return b.String()
}

// MarshalJSON gives the error as the server's 422 body carries it: the
// input, the value (quoted and escaped, as in the message), the
// position and character, the rule, and the whole message.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Input     string `json:"input"`
		Value     string `json:"value"`
		Position  int    `json:"position,omitempty"`
		Character string `json:"character,omitempty"`
		Rule      string `json:"rule"`
		Message   string `json:"message"`
	}{e.Input, Quote(e.Value), e.Pos, e.Char, e.Why, e.Error()})
}

// AsError returns err's *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// rule is one character-set rule.
type rule struct {
	max   int
	first func(rune) bool // nil: same as rest
	rest  func(rune) bool
	why   string
}

func alnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func in(set string) func(rune) bool {
	return func(r rune) bool { return alnum(r) || strings.ContainsRune(set, r) }
}

var (
	versionRule = rule{max: MaxVersion, first: alnum, rest: in("._+~:-"),
		why: "a release version is 1 to 128 characters of A-Z a-z 0-9 . _ + ~ : -, starting with a letter or digit"}
	ticketRule = rule{max: MaxTicket, rest: in("._#/:-"),
		why: "a ticket id is 1 to 64 characters of A-Z a-z 0-9 . _ # / : -"}
	nameRule = rule{max: MaxName, first: alnum, rest: in("._-"),
		why: "a name is letters, digits, '.', '_' and '-', starting with a letter or digit (at most 253 characters)"}
	actorRule = rule{max: MaxActor, first: alnum, rest: in("._-@"),
		why: "a name is 1 to 128 characters of letters, digits, '.', '_', '-' and '@', starting with a letter or digit"}
	addressRule = rule{max: MaxName, first: in(":"), rest: in(".-_:%"),
		why: "an address is a host name or an IP address: letters, digits and . - _ : %, starting with a letter, a digit or ':'"}
)

func (r rule) check(input, s string) error {
	if s == "" {
		return &Error{Input: input, Value: s, Why: "it is empty; " + r.why}
	}
	if !utf8.ValidString(s) {
		i := firstInvalid(s)
		return &Error{Input: input, Value: s, Pos: utf8.RuneCountInString(s[:i]) + 1, Char: escapeByte(s[i]), Why: "not UTF-8 text; " + r.why}
	}
	pos := 0
	for _, c := range s {
		pos++
		ok := r.rest(c)
		if pos == 1 && r.first != nil {
			ok = r.first(c)
		}
		if !ok {
			return &Error{Input: input, Value: s, Pos: pos, Char: Char(c), Why: r.why}
		}
	}
	if pos > r.max {
		return &Error{Input: input, Value: s, Why: fmt.Sprintf("it is %d characters long; %s", pos, r.why)}
	}
	return nil
}

// Version checks a release version (-r, a run's release, a recorded
// previous release).
func Version(input, s string) error { return versionRule.check(input, s) }

// Ticket checks a change ticket id.
func Ticket(input, s string) error { return ticketRule.check(input, s) }

// Name checks a plan, host, role or environment name: the plan's name rule
// (^[A-Za-z0-9][A-Za-z0-9._-]*$), at most 253 characters.
func Name(input, s string) error { return nameRule.check(input, s) }

// IsName reports whether s follows the name rule.
func IsName(s string) bool { return Name("", s) == nil }

// NamePattern is the name rule as a regular expression (for the JSON
// Schema); it does not say the length limit.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9._-]*$`

// Actor checks who claims to act (--as, $GOLIVE_USER): the name rule plus
// '@', so user names and e-mail addresses fit.
func Actor(input, s string) error { return actorRule.check(input, s) }

// Address checks a target's network address: a host name, an IPv4 or an
// IPv6 address (with a zone, without brackets).
func Address(input, s string) error { return addressRule.check(input, s) }

// Text checks free text golive carries without interpreting it (a reason,
// a comment, a --set value): UTF-8, no NUL, at most max bytes. Other
// control characters are allowed; they are escaped wherever text is
// printed.
func Text(input, s string, max int) error {
	if !utf8.ValidString(s) {
		i := firstInvalid(s)
		return &Error{Input: input, Value: s, Pos: utf8.RuneCountInString(s[:i]) + 1, Char: escapeByte(s[i]), Why: "text must be UTF-8"}
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return &Error{Input: input, Value: s, Pos: utf8.RuneCountInString(s[:i]) + 1, Char: `\x00`, Why: "text may not contain NUL"}
	}
	if len(s) > max {
		return &Error{Input: input, Value: s, Why: fmt.Sprintf("it is %d bytes long; at most %d are kept", len(s), max)}
	}
	return nil
}

// NoControl checks a path or another single-line value for control
// characters (NUL, newline, escape, DEL, C1), which never belong in one.
func NoControl(input, s string) error {
	if !utf8.ValidString(s) {
		i := firstInvalid(s)
		return &Error{Input: input, Value: s, Pos: utf8.RuneCountInString(s[:i]) + 1, Char: escapeByte(s[i]), Why: "it must be UTF-8"}
	}
	pos := 0
	for _, c := range s {
		pos++
		if isControl(c) {
			return &Error{Input: input, Value: s, Pos: pos, Char: Char(c), Why: "control characters are not allowed"}
		}
	}
	return nil
}

func isControl(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }

func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// Char names a character for an error message: printable ones quoted
// ('"', '$'), others escaped (\n, \x1b, \u200b).
func Char(c rune) string {
	switch c {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\'':
		return `"'"`
	}
	if isControl(c) || !strconv.IsPrint(c) {
		if c < 0x100 {
			return fmt.Sprintf(`\x%02x`, c)
		}
		return fmt.Sprintf(`\u%04x`, c)
	}
	return "'" + string(c) + "'"
}

func escapeByte(b byte) string { return fmt.Sprintf(`\x%02x`, b) }

// maxShown is how much of a long value an error message shows.
const maxShown = 64

// Quote renders a value for a message: double-quoted, every
// non-printable character and every invalid byte escaped, long values cut
// (saying how long they were). The result is safe to print on a terminal.
func Quote(s string) string {
	cut := ""
	if len(s) > maxShown {
		n := maxShown
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		cut = fmt.Sprintf("... (%d bytes)", len(s))
		s = s[:n]
	}
	return strconv.QuoteToASCII(s) + cut
}
