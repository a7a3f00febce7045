package inventory

import (
	"fmt"

	"github.com/golive-dev/golive/internal/values"
	"strconv"
	"strings"
)

// hostNameRule says the name rule in an error.
const hostNameRule = "use letters, digits, '.', '_' and '-', starting with a letter or digit (as in the plan; give an IPv6 address as ansible_host)"

// hostPattern is a host entry as written: possibly a range, possibly with a
// ":port" suffix.
type hostPattern struct {
	names []string
	port  string // empty when the pattern has no port suffix
}

// parseHostPattern splits off a ":port" suffix and expands ranges such as
// web[01:03], db-[a:c] and app[0:10:5]. Bare IPv6 addresses (more than one
// colon outside brackets) are taken as they are. The error is a message
// without position.
func parseHostPattern(p string) (hostPattern, error) {
	var hp hostPattern
	depth, colons, last := 0, 0, -1
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				colons++
				last = i
			}
		}
	}
	if colons == 1 {
		hp.port = p[last+1:]
		if _, ok := parsePort(hp.port); !ok {
			return hp, fmt.Errorf("host %q: port %q must be an integer from 1 to 65535", p, hp.port)
		}
		p = p[:last]
	}
	names, err := expandRanges(p, 1)
	if err != nil {
		return hp, fmt.Errorf("host %q: %w", p, err)
	}
	for _, n := range names {
		if !validHostName(n) {
			return hp, fmt.Errorf("invalid host name %s: %s", values.Quote(n), hostNameRule)
		}
	}
	hp.names = names
	return hp, nil
}

// expandRanges expands the first [a:b] in p and recurses on the rest.
// count is how many names the enclosing expansions already multiply to.
func expandRanges(p string, count int) ([]string, error) {
	open := strings.IndexByte(p, '[')
	if open < 0 {
		return []string{p}, nil
	}
	end := strings.IndexByte(p[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("unterminated host range")
	}
	end += open
	prefix, spec, suffix := p[:open], p[open+1:end], p[end+1:]
	values, err := rangeValues(spec)
	if err != nil {
		return nil, err
	}
	if count*len(values) > maxHosts {
		return nil, fmt.Errorf("host range expands to more than %d hosts", maxHosts)
	}
	rest, err := expandRanges(suffix, count*len(values))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(values)*len(rest))
	for _, v := range values {
		for _, r := range rest {
			out = append(out, prefix+v+r)
		}
	}
	return out, nil
}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// rangeValues expands "beg:end[:step]" the way Ansible does.
func rangeValues(spec string) ([]string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return nil, fmt.Errorf("invalid host range [%s]: want [begin:end] or [begin:end:step]", spec)
	}
	beg, end := parts[0], parts[1]
	step := 1
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 || len(parts[2]) > 9 {
			return nil, fmt.Errorf("invalid host range [%s]: step must be a positive integer", spec)
		}
		step = n
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("invalid host range [%s]: missing end", spec)
	}
	if isDigits(beg) && isDigits(end) {
		return numericRange(spec, beg, end, step)
	}
	bi, ei := strings.Index(letters, beg), strings.Index(letters, end)
	if len(beg) != 1 || len(end) != 1 || bi < 0 || ei < 0 {
		return nil, fmt.Errorf("invalid host range [%s]: want numbers or single letters", spec)
	}
	if bi > ei {
		return nil, fmt.Errorf("invalid host range [%s]: begin is after end", spec)
	}
	var out []string
	for i := bi; i <= ei; i += step {
		out = append(out, letters[i:i+1])
	}
	return out, nil
}

func numericRange(spec, beg, end string, step int) ([]string, error) {
	width := 0
	if len(beg) > 1 && beg[0] == '0' {
		if len(beg) != len(end) {
			return nil, fmt.Errorf("invalid host range [%s]: begin and end must have the same width", spec)
		}
		width = len(beg)
	}
	if len(beg) > 9 || len(end) > 9 {
		return nil, fmt.Errorf("host range [%s] expands to more than %d hosts", spec, maxHosts)
	}
	b, _ := strconv.Atoi(beg)
	e, _ := strconv.Atoi(end)
	if b > e {
		return nil, fmt.Errorf("invalid host range [%s]: begin is after end", spec)
	}
	if (e-b)/step+1 > maxHosts {
		return nil, fmt.Errorf("host range [%s] expands to more than %d hosts", spec, maxHosts)
	}
	out := make([]string, 0, (e-b)/step+1)
	for i := b; i <= e; i += step {
		out = append(out, fmt.Sprintf("%0*d", width, i))
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
