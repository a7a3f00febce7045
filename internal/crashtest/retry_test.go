package crashtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// retryPlan: one host whose step fails every attempt (retries: 2, so
// three attempts) and stops for a minute in its second one, where the
// test kills golive.
const retryPlan = `golive: 1
name: crash
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: %q, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - name: flaky
        retries: 2
        run: |
          n=$(cat attempts 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >attempts
          echo "try-$n" >>tries
          if [ "$n" = 2 ]; then echo $$ >at.tmp && mv at.tmp at; sleep 60; fi
          exit 1
        backout: 'echo undone >>tries'
`

// Scenario: kill -9 in the second of three attempts of a step, then
// resume: the first attempt failed and stays used; the interrupted second
// runs again, then the third: two attempts, not three fresh ones.
func TestKillMidRetryThenResumeKeepsUsedAttempts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	dir := w.hostDir("h1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.plan, []byte(strings.Replace(retryPlan, "%q", `"`+dir+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := w.start("run", "-r", "2.0")
	w.waitFor(p, "the second attempt", func() bool {
		_, err := os.Stat(filepath.Join(dir, "at"))
		return err == nil
	})
	p.Kill()
	r := w.golive("resume", "last")
	if r.Code != 1 {
		t.Fatalf("resume: exit %d, want 1 (the last attempt fails, backed out)\n%s", r.Code, r)
	}
	b, err := os.ReadFile(filepath.Join(dir, "tries"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "try-1 try-2 try-3 try-4 undone" {
		t.Errorf("executions: %v, want try-1 (attempt 1), try-2 (attempt 2, killed), try-3 and try-4 (attempts 2 and 3 after the resume), then the backout", got)
	}
	logs := w.golive("logs", "last").Stdout
	if n := strings.Count(logs, "attempt 2/3"); n < 2 || !strings.Contains(logs, "attempt 3/3") || strings.Contains(logs, "attempt 4/") {
		t.Errorf("the journal does not show attempt 2 again and then 3 of 3 after the resume\n%s", logs)
	}
}
