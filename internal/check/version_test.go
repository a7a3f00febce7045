package check

import (
	"os/exec"
	"testing"
)

// dpkgVectors are comparisons from dpkg's own tests (lib/dpkg/t/t-version.c,
// scripts/t/Dpkg_Version.t) and apt's versions.lst: a, b, want.
var dpkgVectors = []struct {
	a, b string
	want int
}{
	{"0", "0", 0}, {"0-0", "0-00", 0}, {"0:0-0", "0-0", 0}, {"00", "0", 0},
	{"1:2-3", "1:2-3", 0}, {"0:0-0", "1:0-0", -1}, {"0:a-0", "0:b-0", -1},
	{"0:0-a", "0:0-b", -1}, {"1:0-0", "0:0-0", 1},
	{"1.0", "1.1", -1}, {"1.0~beta1", "1.0", -1}, {"1.0~beta1~svn1245", "1.0~beta1", -1},
	{"1.0", "1.0-0", 0}, {"1.0~", "1.0", -1}, {"1.0~~", "1.0~", -1}, {"1.0~~a", "1.0~~", 1},
	{"1.0~~a", "1.0~", -1}, {"1.0a", "1.0", 1}, {"1.0+", "1.0a", 1}, {"1.0.", "1.0a", 1},
	{"2.30", "2.4", 1}, {"7.6p2-4", "7.6-0", 1}, {"1.0.3-3", "1.0-1", 1}, {"1.3", "1.2.2-2", 1},
	{"1.3", "1.2.2", 1}, {"0-pre", "0-pre", 0}, {"0-pre", "0-pree", -1}, {"1.1.6r2-2", "1.1.6r-1", 1},
	{"2.6b2-1", "2.6b-2", 1}, {"98.1p5-1", "98.1-pre2-b6-2", -1}, {"0.4a6-2", "0.4-1", 1},
	{"1:3.0.5-2", "1:3.0.5.1", -1}, {"10.3", "1:0.4", -1}, {"1:1.25-4", "1:1.25-8", -1},
	{"0:1.18.36", "1.18.36", 0}, {"1.18.36", "1.18.35", 1}, {"0:1.18.36", "1.18.35", 1},
	{"9:1.18.36:5.4-20", "10:0.5.1-22", -1}, {"9:1.18.36:5.4-20", "9:1.18.36:5.5-1", -1},
	{"9:1.18.36:5.4-20", "9:1.18.37:4.3-22", -1}, {"1.18.36-0.17.35-18", "1.18.37-1", -1},
	{"1:9.5.3-8", "1:9.5.3-8+deb9u1", -1}, {"1Z", "1+", -1}, {"1z", "1+", -1}, {"1A", "1+", -1}, {"1.0a", "1.0Z", 1}, {"1.9", "1.10", -1}, {"2.2~rc-4", "2.2-1", -1}, {"1.0000-1", "1.0-1", 0},
	{"1.1-20080727-1", "1.1-20080316-1", 1}, {"1.18.0-6ubuntu14.4", "1.22", -1},
	{"1.22.1-9", "1.22", 1}, {"3.0-1", "3.0-1~bpo12+1", 1}, {"2:1.0", "9.9", 1},
}

func TestCompareDpkg(t *testing.T) {
	for _, v := range dpkgVectors {
		if got := CompareDpkg(v.a, v.b); got != v.want {
			t.Errorf("CompareDpkg(%q, %q) = %d, want %d", v.a, v.b, got, v.want)
		}
		if got := CompareDpkg(v.b, v.a); got != -v.want {
			t.Errorf("CompareDpkg(%q, %q) = %d, want %d", v.b, v.a, got, -v.want)
		}
	}
}

// TestCompareDpkgAgreesWithDpkg asks the real dpkg about every vector
// (when dpkg is installed): the table itself must be right.
func TestCompareDpkgAgreesWithDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("no dpkg")
	}
	for _, v := range dpkgVectors {
		op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[v.want]
		if err := exec.Command(dpkg, "--compare-versions", v.a, op, v.b).Run(); err != nil {
			t.Errorf("dpkg says %q %s %q is false", v.a, op, v.b)
		}
	}
}

// rpmVectors are rpm's tests/rpmvercmp.at.
var rpmVectors = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1}, {"2.0.1", "2.0", 1},
	{"2.0.1a", "2.0.1a", 0}, {"2.0.1a", "2.0.1", 1}, {"2.0.1", "2.0.1a", -1},
	{"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1}, {"5.5p2", "5.5p1", 1},
	{"5.5p10", "5.5p10", 0}, {"5.5p1", "5.5p10", -1}, {"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1}, {"10.1xyz", "10xyz", 1},
	{"xyz10", "xyz10", 0}, {"xyz10", "xyz10.1", -1}, {"xyz10.1", "xyz10", 1},
	{"xyz.4", "xyz.4", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"xyz.4", "2", -1}, {"2", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1}, {"5.6p1", "5.5p2", 1}, {"5.6p1", "6.5p1", -1}, {"6.5p1", "5.6p1", 1},
	{"6.0.rc1", "6.0", 1}, {"6.0", "6.0.rc1", -1}, {"10b2", "10a1", 1}, {"10a2", "10b2", -1},
	{"1.0aa", "1.0aa", 0}, {"1.0a", "1.0aa", -1}, {"1.0aa", "1.0a", 1},
	{"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0}, {"10.1", "10.0001", 0},
	{"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1}, {"4.999.9", "5.0", -1}, {"5.0", "4.999.9", 1},
	{"20101121", "20101121", 0}, {"20101121", "20101122", -1}, {"20101122", "20101121", 1},
	{"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"2_0", "2.0", 0},
	{"a", "a", 0}, {"a+", "a+", 0}, {"a+", "a_", 0}, {"a_", "a+", 0}, {"+a", "+a", 0}, {"+a", "_a", 0},
	{"_a", "+a", 0}, {"+_", "+_", 0}, {"_+", "+_", 0}, {"_+", "_", 0}, {"+", "_", 0}, {"_", "+", 0},
	{"1.0~rc1", "1.0~rc1", 0}, {"1.0~rc1", "1.0", -1}, {"1.0", "1.0~rc1", 1},
	{"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc2", "1.0~rc1", 1},
	{"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1}, {"1.0~rc1", "1.0~rc1~git123", 1},
	{"1.0^", "1.0^", 0}, {"1.0^", "1.0", 1}, {"1.0", "1.0^", -1},
	{"1.0^git1", "1.0^git1", 0}, {"1.0^git1", "1.0", 1}, {"1.0", "1.0^git1", -1},
	{"1.0^git1", "1.0^git2", -1}, {"1.0^git2", "1.0^git1", 1}, {"1.0^git1", "1.01", -1}, {"1.01", "1.0^git1", 1},
	{"1.0^20160101", "1.0^20160101", 0}, {"1.0^20160101", "1.0.1", -1}, {"1.0.1", "1.0^20160101", 1},
	{"1.0^20160101^git1", "1.0^20160101^git1", 0}, {"1.0^20160102", "1.0^20160101^git1", 1},
	{"1.0^20160101^git1", "1.0^20160102", -1},
	{"1.0~rc1^git1", "1.0~rc1^git1", 0}, {"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc1^git1", -1},
	{"1.0^git1~pre", "1.0^git1~pre", 0}, {"1.0^git1", "1.0^git1~pre", 1}, {"1.0^git1~pre", "1.0^git1", -1},
}

func TestRPMVerCmp(t *testing.T) {
	for _, v := range rpmVectors {
		if got := RPMVerCmp(v.a, v.b); got != v.want {
			t.Errorf("RPMVerCmp(%q, %q) = %d, want %d", v.a, v.b, got, v.want)
		}
	}
}

func TestCompareRPMEpochRelease(t *testing.T) {
	for _, v := range []struct {
		a, b string
		want int
	}{
		{"1:1.0-1", "2.0-1", 1}, {"0:1.0-1", "1.0-1", 0}, {"1.0-2.el9", "1.0-10.el9", -1},
		{"1.20.1-1.el9", "1.22", -1}, {"2:1.0", "10:0.1", -1},
	} {
		if got := CompareRPM(v.a, v.b); got != v.want {
			t.Errorf("CompareRPM(%q, %q) = %d, want %d", v.a, v.b, got, v.want)
		}
	}
	// A wanted version without a release matches every release.
	if n := CompareRPMConstraint("1.22.0-3.el9", "1.22.0"); n != 0 {
		t.Errorf("1.22.0-3.el9 vs wanted 1.22.0: %d, want 0", n)
	}
	if n := CompareRPMConstraint("1.22.0-3.el9", "1.22.0-4"); n != -1 {
		t.Errorf("1.22.0-3.el9 vs wanted 1.22.0-4: %d, want -1", n)
	}
}

func TestConstraint(t *testing.T) {
	for _, v := range []struct {
		c, order, found string
		ok              bool
	}{
		{">= 1.22", OrderDpkg, "1.18.0-6ubuntu14", false},
		{">= 1.22", OrderDpkg, "1.22.1-9", true},
		{">=1.22", OrderDpkg, "1.22~rc1", false},
		{"<< 2", OrderDpkg, "1:1.0", false},
		{"< 2", OrderDpkg, "1.9", true},
		{"1.0", OrderDpkg, "1.0", true},
		{"= 1.0", OrderDpkg, "1.0-1", false},
		{"= 1.0", OrderRPM, "1.0-1.el9", true},
		{"!= 1.0", OrderRPM, "1.1", true},
		{"> 1.0", OrderRPM, "1.0^git1", true},
		{"<= 1.0", OrderRPM, "1.0~rc1", true},
		// The operators at equality.
		{">= 1.2", OrderDpkg, "1.2", true}, {"<= 1.2", OrderDpkg, "1.2", true},
		{"> 1.2", OrderDpkg, "1.2", false}, {"< 1.2", OrderDpkg, "1.2", false},
	} {
		c, err := ParseConstraint(v.c)
		if err != nil {
			t.Fatalf("%q: %v", v.c, err)
		}
		if got := c.Satisfied(v.order, v.found); got != v.ok {
			t.Errorf("%s %q satisfied by %q: %v, want %v", v.order, v.c, v.found, got, v.ok)
		}
	}
	for _, bad := range []string{"", ">=", ">= 1 2", ">= 1;rm", "=> 1", "1\n2"} {
		if _, err := ParseConstraint(bad); err == nil {
			t.Errorf("ParseConstraint(%q) accepted", bad)
		}
	}
}
