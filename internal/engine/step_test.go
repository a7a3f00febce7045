package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/store"
)

const retryPlan = `stages:
  - name: web
    on: web
    steps:
      - name: flaky
        retries: 1
        backout: echo undo-flaky >> log
        run: |
          n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
          echo attempt$n >> log
          [ $n -ge %d ]
`

func TestRetryThenPass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(retryPlan, "%d", "2", 1))
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	equal(t, "log", f.log("h1"), []string{"attempt1", "attempt2"})
	evs := f.events(out.Run.ID)
	m := match{kind: store.KindStep, host: "h1", step: "flaky"}
	for action, want := range map[store.Action]int{store.ActionStarted: 2, store.ActionRetried: 1, store.ActionFinished: 1, store.ActionFailed: 0} {
		m.action = action
		if got := count(evs, m); got != want {
			t.Errorf("%s events: %d, want %d", action, got, want)
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(retryPlan, "%d", "3", 1))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"attempt1", "attempt2", "undo-flaky"})
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: store.ActionRetried}) != 1 ||
		count(evs, match{kind: store.KindStep, action: store.ActionFailed}) != 1 {
		t.Error("want one retried and one failed event")
	}
}

// TestStepTimeoutKillsProcessTree: a step that outlives its timeout is
// killed with everything it started, even a child that ignores SIGTERM.
func TestStepTimeoutKillsProcessTree(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - name: hang
        timeout: 500ms
        backout: echo undo-hang >> log
        run: |
          echo $$ > sh.pid
          sleep 300 & echo $! > child.pid
          (trap '' TERM; exec sleep 300) & echo $! > stubborn.pid
          echo hang >> log
          wait
`)
	began := time.Now()
	out := f.start(f.engine())
	took := time.Since(began)
	f.wantState(out, store.StateBackedOut)
	if took > 5*time.Second {
		t.Errorf("run took %s; the 500ms timeout was not enforced", took)
	}
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: store.ActionTimedOut, step: "hang"}) != 1 {
		t.Error("journal has no timed_out event")
	}
	// The host's failure says why in words: no exit code (it did not exit
	// by itself).
	failed := filter(evs, match{kind: store.KindHost, action: store.ActionFailed, host: "h1"})
	if want := "step hang: timed out after 500ms, killed"; len(failed) != 1 || failed[0].Message != want {
		t.Errorf("host failed events = %+v, want one %q", failed, want)
	}
	for _, file := range []string{"sh.pid", "child.pid", "stubborn.pid"} {
		waitGone(t, readPID(t, filepath.Join(f.hostDir("h1"), file)), 2*time.Second)
	}
	equal(t, "log", f.log("h1"), []string{"a", "hang", "undo-hang", "undo-a"})
}

const whenPlan = `stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - {name: a, when: host.name != "h1", run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: echo b >> log, backout: echo undo-b >> log}
      - {name: c, run: '%s', backout: echo undo-c >> log}
`

func TestWhenFalseSkips(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, strings.Replace(whenPlan, "%s", "true", 1))
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	equal(t, "h1 log", f.log("h1"), []string{"b"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b"})
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: store.ActionSkipped, host: "h1", step: "a"}) != 1 {
		t.Error("journal: step a on h1 not skipped")
	}
	if count(evs, match{kind: store.KindStep, action: store.ActionStarted, host: "h1", step: "a"}) != 0 {
		t.Error("journal: skipped step a started on h1")
	}
}

// TestSkippedStepNotBackedOut: a skipped step never started, so its
// backout does not run either.
func TestSkippedStepNotBackedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, strings.Replace(whenPlan, "%s", "echo c >> log; exit 1", 1))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"b", "c", "undo-c", "undo-b"})
	if f.log("h2") != nil {
		t.Errorf("h2 (batch 2) was touched: %v", f.log("h2"))
	}
	if len(out.NotBackedOut) != 0 {
		t.Errorf("NotBackedOut = %v, want none", out.NotBackedOut)
	}
}

// TestSecretsRedacted: a secret a step prints (from the script or its
// env) is *** in the journal, also in failure messages and the reason.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-V4lue"
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: leak
        env: {TOKEN: "${{ secrets.token }}"}
        run: 'echo "token=${{ secrets.token }}"; echo "env=$TOKEN"; echo "bad $TOKEN" >&2; exit 1'
        backout: 'echo "undo $TOKEN"'
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	var sawOutput, sawBackout bool
	for _, e := range evs {
		if strings.Contains(e.Output+e.Message, secret) {
			t.Errorf("event %d (%s %s) shows the secret: %q %q", e.Seq, e.Kind, e.Action, e.Message, e.Output)
		}
		if e.Action == store.ActionFailed && e.Kind == store.KindStep {
			sawOutput = strings.Contains(e.Output, "token=***") && strings.Contains(e.Output, "env=***")
		}
		if e.Action == store.ActionBackedOut && e.Kind == store.KindStep {
			sawBackout = strings.Contains(e.Output, "undo ***")
		}
	}
	if !sawOutput || !sawBackout {
		t.Errorf("journal output not redacted as ***: step %v, backout %v", sawOutput, sawBackout)
	}
	if strings.Contains(out.Run.Reason, secret) {
		t.Errorf("run reason shows the secret: %q", out.Run.Reason)
	}
}

// TestSecretCutAtOutputTail: output longer than the journal keeps is cut
// to its tail; a secret the cut splits must not show its remainder.
func TestSecretCutAtOutputTail(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-V4lue"
	// The secret, then 4086 bytes: the kept tail (4096 bytes) starts 2
	// bytes into the secret.
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: leak
        env: {TOKEN: "${{ secrets.token }}"}
        run: 'printf %s "$TOKEN"; head -c 4085 /dev/zero | tr "\0" x; echo'
        backout: "true"
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateSucceeded)
	fin := filter(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionFinished, step: "leak"})
	if len(fin) != 1 {
		t.Fatalf("finished events: %+v", fin)
	}
	if o := fin[0].Output; strings.Contains(o, secret[2:]) {
		t.Errorf("journal output starts %q: the rest of the secret shows", o[:12])
	}
}

// TestInterruptedRunBacksOut: when the caller cancels Start (the
// controller got SIGINT), the running step is stopped and the run is
// backed out.
func TestInterruptedRunBacksOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sleepingStep)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *engine.Outcome, 1)
	go func() {
		out, err := f.engine().Start(ctx, engine.Request{Rollout: f.ro, Requester: "tester"})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	pidFile := filepath.Join(f.hostDir("h1"), "sh.pid")
	waitFile(t, pidFile, 5*time.Second)
	cancel()
	select {
	case out := <-done:
		f.wantState(out, store.StateBackedOut)
		if !strings.Contains(out.Run.Reason, "interrupted") {
			t.Errorf("reason = %q", out.Run.Reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
	waitGone(t, readPID(t, pidFile), 2*time.Second)
	equal(t, "log", f.log("h1"), []string{"a", "sleep", "undo-sleep", "undo-a"})
	wantNoLock(t, f)
}

// TestSecretsRedactedInOutcome: the Outcome a caller prints (or encodes
// as JSON) carries no secret either, also when a backout that printed
// one failed.
func TestSecretsRedactedInOutcome(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-V4lue"
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: leak
        env: {TOKEN: "${{ secrets.token }}"}
        run: exit 1
        backout: 'echo "cannot undo with $TOKEN"; exit 1'
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateBackoutFailed)
	if len(out.Attention) != 1 {
		t.Fatalf("Attention = %q", out.Attention)
	}
	if strings.Contains(out.Attention[0], secret) {
		t.Errorf("Outcome.Attention shows the secret: %q", out.Attention[0])
	}
}

// leaks returns the first 8-byte piece of secret found in text, or "".
func leaks(text, secret string) string {
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// TestSecretStraddlingLineCut: a failed step's last line is cut to 200
// bytes for the run's reason; a secret the cut splits must not show its
// first part there, nor anywhere in the journal.
func TestSecretStraddlingLineCut(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-V4lue-0123456789-abcdefghij"
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: leak
        run: 'head -c 190 /dev/zero | tr "\0" x; printf "%s\n" "${{ secrets.token }}"; exit 1'
        backout: 'head -c 190 /dev/zero | tr "\0" y; printf "%s\n" "${{ secrets.token }}"; exit 1'
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateBackoutFailed)
	if p := leaks(out.Run.Reason, secret); p != "" {
		t.Errorf("run reason shows %q of the secret: %q", p, out.Run.Reason)
	}
	for _, a := range out.Attention {
		if p := leaks(a, secret); p != "" {
			t.Errorf("attention shows %q of the secret: %q", p, a)
		}
	}
	for _, e := range f.events(out.Run.ID) {
		if p := leaks(e.Output+e.Message, secret); p != "" {
			t.Errorf("event %d (%s %s) shows %q of the secret: %q", e.Seq, e.Kind, e.Action, p, e.Message)
		}
	}
}

// TestLongSecretPrintedInPieces: a secret longer than the journal's tail,
// printed slowly in pieces, leaves no piece of itself in the journal.
func TestLongSecretPrintedInPieces(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; b.Len() < 10<<10; i++ {
		fmt.Fprintf(&b, "%04x", i*7919%65536)
	}
	secret := b.String()
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: leak
        env: {TOKEN: "${{ secrets.token }}"}
        run: |
          printf %s "$TOKEN" | head -c 3000; sleep 0.1
          printf %s "$TOKEN" | tail -c +3001 | head -c 5000; sleep 0.1
          printf '%s\n' "$TOKEN" | tail -c +8001
          echo done
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateSucceeded)
	fin := filter(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionFinished, step: "leak"})
	if len(fin) != 1 || fin[0].Output != "***\ndone\n" {
		t.Fatalf("finished events: %+v, want output \"***\\ndone\\n\"", fin)
	}
}
