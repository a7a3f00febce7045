//go:build linux

package local_test

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// The controller's role in TestGuardStopsStepWhenControllerDiesUnderNohup:
// with SIGHUP ignored, as `nohup golive run` starts it, run a step that
// writes its pid and sleeps, and wait to be killed.
func TestHelperControllerUnderNohup(t *testing.T) {
	dir := os.Getenv("GOLIVE_TEST_NOHUP_CONTROLLER")
	if dir == "" {
		t.Skip("the controller of TestGuardStopsStepWhenControllerDiesUnderNohup")
	}
	signal.Ignore(syscall.SIGHUP)
	conn, err := (&local.Transport{}).Dial(context.Background(), transport.Host{Name: "h", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	conn.Run(context.Background(), transport.Command{Script: `echo $$ >step.pid.tmp && mv step.pid.tmp step.pid; sleep 60; echo late >late`})
}

// kill -9 of golive started under nohup: the step's group is still
// stopped by its guard (TERM, then KILL after 5 s), not left running until
// it ends by itself (60 s here).
func TestGuardStopsStepWhenControllerDiesUnderNohup(t *testing.T) {
	dir := t.TempDir()
	ctrl := exec.Command(os.Args[0], "-test.run", "^TestHelperControllerUnderNohup$", "-test.count=1")
	ctrl.Env = append(os.Environ(), "GOLIVE_TEST_NOHUP_CONTROLLER="+dir)
	if err := ctrl.Start(); err != nil {
		t.Fatal(err)
	}
	defer ctrl.Process.Kill()
	pidFile := filepath.Join(dir, "step.pid")
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the step did not start within 30s")
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	ctrl.Process.Signal(syscall.SIGKILL)
	ctrl.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("step (pid %d) still running 30s after its controller was killed", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "late")); err == nil {
		t.Error("the step went on after its controller was killed")
	}
}

// alive says whether pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
