package transporttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// The script and Command.Env never appear in a process's arguments, and
// neither does the script in any environment: while the script runs, no
// /proc/PID/cmdline holds either, and no /proc/PID/environ the script.
// (Env is in the environment of what the script starts: that is what it
// is for; here the script starts its sleep without it, and its own shell's
// initial environment must not hold it.) The script's standard input is
// empty.
func testArgumentsHoldNoScript(t *testing.T, h Harness) {
	requireProc(t)
	conn, dir := dial(t, h, shortGrace)
	scriptMark := "golive-script-mark-" + nonceHex(t)
	envMark := "golive-env-mark-" + nonceHex(t)
	out := NewLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := conn.Run(ctx, transport.Command{
			Script: ": " + scriptMark + "\nif read -r line; then echo stdin-not-empty; fi\n" +
				`[ "$GOLIVE_TEST_MARK" = "` + envMark + `" ] && echo ready; (unset GOLIVE_TEST_MARK; exec sleep 30)`,
			Env:    map[string]string{"GOLIVE_TEST_MARK": envMark},
			Stdout: out, Stderr: out,
		})
		done <- runOutcome{res, err}
	}()
	select {
	case <-out.Ready():
	case o := <-done:
		t.Fatalf("Run ended early: %+v, %v, output %q", o.res, o.err, out.String())
	case <-time.After(HangGuard):
		t.Fatal("script did not start")
	}
	if got := out.String(); got != "ready\n" {
		t.Errorf("output %q, want \"ready\\n\" (env reached the script, stdin empty)", got)
	}
	// The script's shell stays (waiting for its sleep); sample a few times.
	for i := 0; i < 5; i++ {
		for _, p := range procFiles(t) {
			for _, f := range []string{"cmdline", "environ"} {
				b, err := os.ReadFile(filepath.Join(p, f))
				if err != nil {
					continue
				}
				if bytes.Contains(b, []byte(scriptMark)) {
					t.Fatalf("%s/%s holds the script: %q", p, f, shorten(b))
				}
				if f == "cmdline" && bytes.Contains(b, []byte(envMark)) {
					t.Fatalf("%s/%s holds an env value: %q", p, f, shorten(b))
				}
				if f == "environ" && bytes.Contains(b, []byte(envMark)) {
					t.Fatalf("%s/%s holds an env value the script removed before it started anything", p, f)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case o := <-done:
		if o.err == nil {
			t.Errorf("Run = %+v, nil; want the cancellation", o.res)
		}
	case <-time.After(HangGuard):
		t.Fatal("Run hung after cancel")
	}
	_ = dir
}

func procFiles(t *testing.T) []string {
	ps, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func shorten(b []byte) string {
	s := strings.ReplaceAll(string(b), "\x00", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func nonceHex(t *testing.T) string {
	b := make([]byte, 8)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(b); err != nil {
		t.Fatal(err)
	}
	const hex = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(hex[c>>4])
		s.WriteByte(hex[c&15])
	}
	return s.String()
}
