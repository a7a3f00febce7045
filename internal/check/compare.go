package check

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/golive-dev/golive/internal/plan"
)

// HostsRegex returns an anchored regex that matches exactly the given
// values (host addresses or names), written to be put inside a double- or
// single-quoted PromQL string: letters and digits stand for themselves,
// '.', '-', ':' and '_' are written as character classes ([.]), anything
// else as \\x{HEX}, an escaped backslash in PromQL that RE2 reads as the
// code point. No value can end the string, change the query or widen the
// match. An empty list matches nothing a label holds.
func HostsRegex(values []string) string { return hostsRegex(values, "") }

// AddressesRegex is HostsRegex for addresses: an instance label's port
// (10.0.0.1:9100) may follow.
func AddressesRegex(values []string) string { return hostsRegex(values, "(?::[0-9]+)?") }

func hostsRegex(values []string, suffix string) string {
	if len(values) == 0 {
		return `^\\x{0}$`
	}
	parts := make([]string, len(values))
	for i, v := range values {
		var b strings.Builder
		for _, r := range v {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				b.WriteRune(r)
			case r == '.' || r == '-' || r == ':' || r == '_':
				b.WriteString("[" + string(r) + "]")
			default:
				fmt.Fprintf(&b, `\\x{%x}`, r)
			}
		}
		parts[i] = b.String()
	}
	return "^(?:" + strings.Join(parts, "|") + ")" + suffix + "$"
}

// ScopeQuery fills a compare monitor's rendered query for one side: the
// hosts.regex marker with the regex of addrs, hosts.names_regex with that
// of names.
func ScopeQuery(query string, addrs, names []string) string {
	q := strings.ReplaceAll(query, plan.HostsRegexMarker, AddressesRegex(addrs))
	return strings.ReplaceAll(q, plan.HostsNamesMarker, HostsRegex(names))
}

// Side is one side of a comparison: which hosts, and what the query said.
type Side struct {
	Hosts []string // names, for people
	Value float64
	Err   error // no number: the side is inconclusive
}

// QuerySide runs a compare query for hosts (addresses and names, in the
// same order). NaN and infinities are no data.
func QuerySide(ctx context.Context, url, query string, names, addrs []string) Side {
	s := Side{Hosts: names}
	s.Value, s.Err = QueryPrometheus(ctx, url, ScopeQuery(query, addrs, names))
	if s.Err == nil && (math.IsNaN(s.Value) || math.IsInf(s.Value, 0)) {
		s.Err = fmt.Errorf("prometheus query returned %g, not a number to compare", s.Value)
	}
	return s
}

// Ratio is canary/baseline: 1 when both are 0, +Inf when only the
// baseline is.
func Ratio(canary, baseline float64) float64 {
	switch {
	case baseline == 0 && canary == 0:
		return 1
	case baseline == 0:
		return math.Inf(1)
	}
	return canary / baseline
}
