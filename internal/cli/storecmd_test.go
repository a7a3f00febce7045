package cli

import (
	"fmt"
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
