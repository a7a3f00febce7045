package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logins counts the logins sshd logged on each host so far.
func (w *world) logins() map[string]int {
	w.t.Helper()
	n := map[string]int{}
	for _, h := range w.f.Hosts {
		b, err := os.ReadFile(filepath.Join(w.f.Dir, "hosts", h.Name, "sshd.log"))
		if err != nil {
			w.t.Fatal(err)
		}
		n[h.Name] = strings.Count(string(b), "Accepted publickey")
	}
	return n
}

// A release logs in to each host once: the connection the review opened
// to check that the host is reachable is the one the run works over.
func TestReleaseLogsInOncePerHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0")
	before := w.logins()
	w.release("1.0")
	after := w.logins()
	for _, h := range w.f.Hosts {
		if got := after[h.Name] - before[h.Name]; got != 1 {
			t.Errorf("%s: %d logins during the release, want 1", h.Name, got)
		}
	}
}
