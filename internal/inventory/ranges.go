package inventory

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/golive-dev/golive/internal/values"
)

// hostNameRule says the name rule in an error.
const hostNameRule = "use letters, digits, '.', '_' and '-', starting with a letter or digit (as in the plan)"

// hostPattern is a host entry as written: possibly a range, possibly with a
// ":port" suffix.
type hostPattern struct {
	names   []string
	port    string // empty when the pattern has no port suffix
	address string // an IPv6 address written as the host (names holds the name golive derives)
	ansible string // the name Ansible gives the host when it differs from names[0]
}

// parseHostPattern splits off a ":port" suffix and expands ranges such as
// web[01:03], db-[a:c] and app[0:10:5], as Ansible's parse_address does:
// "[ADDRESS]:PORT" is a bracketed address with a port, "NAME:PORT" a name
// with one, and an IPv6 address (more than one colon) is taken as it is.
// The error is a message without position.
func parseHostPattern(p string) (hostPattern, error) {
	var hp hostPattern
	if m := bracketedHostPort.FindStringSubmatch(p); m != nil {
		if _, ok := parsePort(m[2]); !ok {
			return hp, fmt.Errorf("host %q: port %q must be an integer from 1 to 65535", p, m[2])
		}
		p, hp.port = m[1], m[2]
	}
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
	switch {
	case colons == 1 && hp.port == "":
		hp.port = p[last+1:]
		if _, ok := parsePort(hp.port); !ok {
			return hp, fmt.Errorf("host %q: port %q must be an integer from 1 to 65535", p, hp.port)
		}
		p = p[:last]
	case colons > 1 || strings.Count(p, ":") > 1 && !strings.Contains(p, "["):
		return ipv6Host(p, hp)
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

var bracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)

// ipv6Host makes a host of an IPv6 address written as the host name: as in
// Ansible the address is how it is reached. Its name in golive is derived
// from the address (the plan's name rule has no ':'): 2001:db8::2 becomes
// 2001-db8--2.
func ipv6Host(p string, hp hostPattern) (hostPattern, error) {
	if a, err := netip.ParseAddr(p); err != nil || !a.Is6() || values.Address("host", p) != nil {
		return hp, fmt.Errorf("invalid host %s: not an IPv6 address, and a host name may not contain ':' (%s)", values.Quote(p), hostNameRule)
	}
	hp.names, hp.address, hp.ansible = []string{IPv6Name(p)}, p, p
	return hp, nil
}

// IPv6Name is the name golive gives a host that an inventory names by its
// IPv6 address: every character the name rule does not allow becomes '-',
// and a name that would not start with a letter or digit starts with "ip6".
func IPv6Name(addr string) string {
	b := []byte(addr)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) == 0 || b[0] == '-' || b[0] == '.' || b[0] == '_' {
		return "ip6" + string(b)
	}
	return string(b)
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
