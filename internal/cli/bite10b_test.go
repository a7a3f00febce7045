package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// status lists backed-out hosts one a line up to and including 50; past
// 50 it counts them per verdict.
func TestVerdictLinesFiftyHostsListed(t *testing.T) {
	for _, n := range []int{50, 51} {
		v := map[string]string{}
		for i := 0; i < n; i++ {
			v[fmt.Sprintf("h%02d", i)] = "backed out, verified healthy at 1.0"
		}
		lines := verdictLines(v)
		perHost := len(lines) == n && strings.HasPrefix(lines[0], "h00: ")
		if perHost != (n <= 50) {
			t.Errorf("%d hosts: %d lines (%q...), want one per host only up to 50", n, len(lines), lines[0])
		}
	}
}

// init names the plan after its directory when the name is at most 40
// characters; a longer one gives "app".
func TestPlanNameForLengthLimit(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{40, 41} {
		name := strings.Repeat("a", n)
		want := name
		if n > 40 {
			want = "app"
		}
		if got := planNameFor(filepath.Join(dir, name)); got != want {
			t.Errorf("directory of %d characters: plan name %q, want %q", n, got, want)
		}
	}
}
