package timeline_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

// TestPictures draws the pictures of docs/img (run with TIMELINE_OUT=DIR;
// the screenshots are taken from DIR's pages with headless Chromium, see
// docs/server.md): a 3-host release with a retry, a gate, a failure and
// its backout, and a 500-host one.
func TestPictures(t *testing.T) {
	if os.Getenv("TIMELINE_OUT") == "" {
		t.Skip("TIMELINE_OUT is not set")
	}
	t.Run("3hosts", func(t *testing.T) {
		f := newFixture(t, []string{"web-1/canary", "web-2", "web-3"}, `stages:
  - name: canary
    on: canary
    steps:
      - {name: fetch, run: 'sleep 0.6', backout: 'sleep 0.2'}
      - {name: migrate, run: 'sleep 0.4', backout: 'sleep 0.3'}
      - {name: switch, run: 'sleep 0.3', backout: 'sleep 0.2'}
    health:
      - {name: up, run: 'sleep 0.3'}
  - name: web
    on: web
    gate: {approvals: 1}
    strategy: {batch: 2, max_failed: 0}
    steps:
      - name: fetch
        retries: 1
        run: 'sleep 0.5; if [ "$GOLIVE_HOST" = web-2 ] && [ ! -e tried ]; then touch tried; exit 1; fi'
        backout: 'sleep 0.2'
      - {name: migrate, run: 'sleep 0.4', backout: 'sleep 0.3'}
      - {name: switch, run: 'sleep 0.3; [ "$GOLIVE_HOST" != web-3 ] || { echo "port 8080 already in use" >&2; exit 7; }', backout: 'sleep 0.2'}
`)
		run := f.run()
		time.Sleep(1500 * time.Millisecond) // the gate waits for bob
		run = f.approveAndResume(run, "stage:web")
		render(t, f.events(run), timeline.Options{Title: "shop 2.0 → production (run " + run.ID + ")"})
	})
	t.Run("500hosts", func(t *testing.T) {
		hosts := []string{"canary-1/canary"}
		for i := 2; i <= 500; i++ {
			hosts = append(hosts, fmt.Sprintf("web-%03d", i))
		}
		slow := `sleep 0.$(( $(printf %s "$GOLIVE_HOST" | cksum | cut -c1-4) % 6 + 2))`
		f := newFixture(t, hosts, `stages:
  - name: canary
    on: canary
    steps:
      - {name: fetch, run: '`+slow+`', backout: 'true'}
      - {name: switch, run: '`+slow+`', backout: 'true'}
  - name: web
    on: web
    strategy: {batch: 50, max_failed: 1}
    steps:
      - {name: fetch, run: '`+slow+`', backout: 'true'}
      - {name: switch, run: '`+slow+`; case $GOLIVE_HOST in web-410|web-433) exit 3;; esac', backout: 'sleep 0.1'}
`)
		run := f.run()
		if run.State != store.StateBackedOut {
			t.Fatalf("state = %s (%s)", run.State, run.Reason)
		}
		render(t, f.events(run), timeline.Options{Title: "shop 2.0 → production, 500 hosts (run " + run.ID + ")"})
	})
}
