package cli

import (
	"bytes"
	"os"
	"testing"

	"github.com/golive-dev/golive/internal/redact"
)

// The terminal writers redact on their way to the file: whether output
// goes to a terminal is still asked of the file under them.
func TestTerminalFileUnderRedactor(t *testing.T) {
	w := redact.New("x").Writer(redact.New().Writer(os.Stderr))
	if f, ok := terminalFile(w); !ok || f != os.Stderr {
		t.Errorf("terminalFile = %v, %v; want os.Stderr", f, ok)
	}
	if _, ok := terminalFile(redact.New().Writer(&bytes.Buffer{})); ok {
		t.Error("a buffer under the redactor is no terminal")
	}
}
