package check

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// promString reads a regex the way PromQL reads it from a double-quoted
// (or single-quoted) string literal: Go escapes.
func promString(t *testing.T, re string, quote byte) string {
	t.Helper()
	lit := string(quote) + re + string(quote)
	if quote == '\'' {
		// strconv.Unquote takes one character in single quotes; PromQL
		// unquotes a single-quoted string like a double-quoted one.
		lit = `"` + re + `"`
	}
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s is not a valid PromQL string: %v", lit, err)
	}
	return s
}

func TestHostsRegexMatchesExactlyItsHosts(t *testing.T) {
	hostile := []string{"web-1.example.com", "10.0.0.1", "fe80::1%eth0", `a"b`, "x|.*", `back\slash`, "tab\there", "new\nline", "ünï", "a'b", "(", "[]", "$^"}
	for _, quote := range []byte{'"', '\''} {
		for _, v := range hostile {
			re := HostsRegex([]string{v, "other"})
			if strings.ContainsAny(re, "\"'`\n") {
				t.Fatalf("HostsRegex(%q) = %s holds a quote or newline", v, re)
			}
			rx := regexp.MustCompile(promString(t, re, quote))
			if !rx.MatchString(v) || !rx.MatchString("other") {
				t.Errorf("%s does not match %q", re, v)
			}
			for _, no := range []string{v + "x", "x" + v, "", "othe", "anything", v + "|other"} {
				if rx.MatchString(no) {
					t.Errorf("%s matches %q", re, no)
				}
			}
		}
	}
}

func TestAddressesRegexAllowsAPort(t *testing.T) {
	rx := regexp.MustCompile(promString(t, AddressesRegex([]string{"10.0.0.1", "db.example"}), '"'))
	for _, yes := range []string{"10.0.0.1", "10.0.0.1:9100", "db.example:80"} {
		if !rx.MatchString(yes) {
			t.Errorf("no match for %q", yes)
		}
	}
	for _, no := range []string{"10.0.0.10", "10.0.0.1:x", "10x0.0.1", "10.0.0.1:9100:1", "db.example.org"} {
		if rx.MatchString(no) {
			t.Errorf("matches %q", no)
		}
	}
}

func TestHostsRegexOfNoHostsMatchesNoLabel(t *testing.T) {
	rx := regexp.MustCompile(promString(t, HostsRegex(nil), '"'))
	for _, no := range []string{"", "h1", "^$"} {
		if rx.MatchString(no) {
			t.Errorf("matches %q", no)
		}
	}
}

func TestRatio(t *testing.T) {
	for _, c := range []struct{ canary, baseline, want float64 }{{3, 1, 3}, {3, 2, 1.5}, {0, 0, 1}, {0, 2, 0}} {
		if got := Ratio(c.canary, c.baseline); got != c.want {
			t.Errorf("Ratio(%g, %g) = %g, want %g", c.canary, c.baseline, got, c.want)
		}
	}
	if r := Ratio(1, 0); r <= 1e300 {
		t.Errorf("Ratio(1, 0) = %g, want +Inf", r)
	}
}
