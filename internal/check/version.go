package check

import (
	"strings"

	"github.com/golive-dev/golive/internal/plan"
)

// Version orderings a version constraint compares with.
const (
	OrderDpkg = "dpkg" // Debian: epoch, upstream, revision; ~ sorts before everything
	OrderRPM  = "rpm"  // RPM: epoch, version, release with rpmvercmp
)

// Constraint is a version requirement like ">= 1.22" or "= 2:1.0-1".
type Constraint struct {
	Op      string // one of >=, <=, >, <, =, != (">" and "<" also written ">>", "<<")
	Version string
}

// ParseConstraint reads a constraint like ">= 1.22" (see
// [plan.ParseConstraint]).
func ParseConstraint(s string) (Constraint, error) {
	op, v, err := plan.ParseConstraint(s)
	return Constraint{Op: op, Version: v}, err
}

func (c Constraint) String() string { return c.Op + " " + c.Version }

// Satisfied reports whether found satisfies c in the given ordering
// (OrderDpkg, OrderRPM; anything else orders like dpkg).
func (c Constraint) Satisfied(order, found string) bool {
	var n int
	if order == OrderRPM {
		n = CompareRPMConstraint(found, c.Version)
	} else {
		n = CompareDpkg(found, c.Version)
	}
	switch c.Op {
	case ">=":
		return n >= 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case "<":
		return n < 0
	case "!=":
		return n != 0
	default:
		return n == 0
	}
}

// dpkgVersion is a Debian version split into its parts.
type dpkgVersion struct {
	epoch              uint64
	upstream, revision string
}

// parseDpkg splits [epoch:]upstream[-revision] as dpkg does: the epoch
// ends at the first colon, the revision starts after the last hyphen. A
// non-numeric epoch counts as 0 (dpkg refuses such a version; here it
// only has to order).
func parseDpkg(v string) dpkgVersion {
	var d dpkgVersion
	if epoch, rest, ok := strings.Cut(v, ":"); ok {
		for _, c := range epoch {
			if c < '0' || c > '9' {
				d.epoch = 0
				break
			}
			d.epoch = d.epoch*10 + uint64(c-'0')
		}
		v = rest
	}
	d.upstream, d.revision, _ = cutLast(v, '-')
	return d
}

// CompareDpkg compares two Debian versions like `dpkg --compare-versions`:
// -1, 0 or 1.
func CompareDpkg(a, b string) int {
	va, vb := parseDpkg(a), parseDpkg(b)
	switch {
	case va.epoch > vb.epoch:
		return 1
	case va.epoch < vb.epoch:
		return -1
	}
	if n := verrevcmp(va.upstream, vb.upstream); n != 0 {
		return sign(n)
	}
	return sign(verrevcmp(va.revision, vb.revision))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// dpkgOrder is the weight of one non-digit character in dpkg's ordering:
// ~ before the end of the string, the end before letters, letters before
// everything else.
func dpkgOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// verrevcmp is dpkg's comparison of an upstream version or a revision.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(a, i), dpkgOrder(b, j)
			if ac != bc {
				return ac - bc
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n > 0:
		return 1
	case n < 0:
		return -1
	}
	return 0
}

// rpmEVR is an RPM epoch:version-release.
type rpmEVR struct {
	epoch            string
	version, release string
	hasRelease       bool
}

func parseRPM(v string) rpmEVR {
	var e rpmEVR
	if epoch, rest, ok := strings.Cut(v, ":"); ok {
		e.epoch, v = epoch, rest
	}
	e.version, e.release, e.hasRelease = cutLast(v, '-')
	return e
}

// cutLast is strings.Cut at the last sep: before and after it, or s, "",
// false when there is none.
func cutLast(s string, sep byte) (before, after string, found bool) {
	i := strings.LastIndexByte(s, sep)
	if i == -1 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// CompareRPM compares two RPM versions ([epoch:]version[-release]) as rpm
// does: epochs (missing = 0) numerically, then versions and releases with
// [RPMVerCmp]. -1, 0 or 1.
func CompareRPM(a, b string) int {
	ea, eb := parseRPM(a), parseRPM(b)
	if n := compareEpoch(ea.epoch, eb.epoch); n != 0 {
		return n
	}
	if n := RPMVerCmp(ea.version, eb.version); n != 0 {
		return n
	}
	return RPMVerCmp(ea.release, eb.release)
}

// CompareRPMConstraint compares an installed version with a wanted one
// as rpm compares a dependency: a wanted version without a release
// matches every release of that version.
func CompareRPMConstraint(found, want string) int {
	f, w := parseRPM(found), parseRPM(want)
	if n := compareEpoch(f.epoch, w.epoch); n != 0 {
		return n
	}
	if n := RPMVerCmp(f.version, w.version); n != 0 || !w.hasRelease {
		return n
	}
	return RPMVerCmp(f.release, w.release)
}

func compareEpoch(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// rpmTildeCaret handles a ~ or ^ at a[i] or b[j] as rpmvercmp does: it
// returns (result, true) when that decides the comparison, (2, false)
// when both have the same one (skip it), (0, false) when neither has one.
func rpmTildeCaret(a, b string, i, j int) (int, bool) {
	ca, cb := byte(0), byte(0)
	if i < len(a) {
		ca = a[i]
	}
	if j < len(b) {
		cb = b[j]
	}
	if ca == '~' || cb == '~' {
		switch {
		case ca != '~':
			return 1, true
		case cb != '~':
			return -1, true
		}
		return 2, false
	}
	if ca == '^' || cb == '^' {
		switch {
		case i >= len(a):
			return -1, true
		case j >= len(b):
			return 1, true
		case ca != '^':
			return 1, true
		case cb != '^':
			return -1, true
		}
		return 2, false
	}
	return 0, false
}

// RPMVerCmp is rpm's rpmvercmp: the strings are split into runs of digits
// and of letters (other characters only separate them); numeric runs
// compare as numbers and are newer than letters; ~ sorts before
// everything, even the end; ^ sorts after the end but before anything
// else. -1, 0 or 1.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	sep := func(c byte) bool { return !isDigit(c) && !isAlpha(c) && c != '~' && c != '^' }
	for i < len(a) || j < len(b) {
		for i < len(a) && sep(a[i]) {
			i++
		}
		for j < len(b) && sep(b[j]) {
			j++
		}
		n, done := rpmTildeCaret(a, b, i, j)
		if done {
			return n
		}
		if n == 2 { // the same ~ or ^ on both sides
			i, j = i+1, j+1
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		num := isDigit(a[i])
		class := isAlpha
		if num {
			class = isDigit
		}
		for i < len(a) && class(a[i]) {
			i++
		}
		for j < len(b) && class(b[j]) {
			j++
		}
		if sj == j { // different kinds of segment: numbers are newer
			if num {
				return 1
			}
			return -1
		}
		sa, sb := a[si:i], b[sj:j]
		if num {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				return sign(len(sa) - len(sb))
			}
		}
		if n := strings.Compare(sa, sb); n != 0 {
			return n
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i < len(a):
		return 1
	}
	return -1
}
