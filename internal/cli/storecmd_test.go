package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store/storetools"
)

// store copy: refused is 2 (nothing written), a target that does not read
// back as the source is 4 (it needs attention).
func TestExitCodesOfStoreCopy(t *testing.T) {
	if got := exitCode(fmt.Errorf("store copy a -> b: %w", storetools.ErrRefused)); got != ExitUsage {
		t.Errorf("refused copy: exit %d, want %d", got, ExitUsage)
	}
	if got := exitCode(fmt.Errorf("store copy a -> b: %w", storetools.ErrMismatch)); got != ExitIncomplete {
		t.Errorf("copy that does not verify: exit %d, want %d", got, ExitIncomplete)
	}
}

// The warning about values a PostgreSQL target keeps otherwise (NUL bytes,
// invalid UTF-8) is printed when there are any, with their count, and only
// then. (A real copy to PostgreSQL that changes values is tested in
// internal/store/storetools; the CLI's tests use SQLite stores only.)
func TestPrintCopyChangedValues(t *testing.T) {
	for _, changed := range []int{0, 1, 2} {
		var out, errb bytes.Buffer
		e := &env{stdio: Stdio{Out: &out, Err: &errb}}
		e.printCopy(&storetools.CopyReport{Changed: changed}, "a.db", "postgres://db/x")
		warned := strings.Contains(errb.String(), "text values held NUL bytes or invalid UTF-8, which the target keeps as U+FFFD")
		switch {
		case changed == 0 && errb.Len() > 0:
			t.Errorf("nothing changed, but stderr says %q", errb.String())
		case changed > 0 && (!warned || !strings.Contains(errb.String(), fmt.Sprintf("warning: %d text values", changed))):
			t.Errorf("%d values changed, stderr says %q", changed, errb.String())
		}
	}
}
