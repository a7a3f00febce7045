package ssh_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// descendants returns the processes below pid (from /proc), with their
// command lines.
func descendants(pid int) map[int]string {
	parent := map[int]int{}
	cmdline := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cmdline[p] = string(bytes.ReplaceAll(cl, []byte{0}, []byte{' '}))
	}
	out := map[int]string{}
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out[p] = cmdline[p]
				break
			}
		}
	}
	return out
}

// When the session's loop on the target dies in the middle of an upload
// over the session (killed, with the process reading the file), the
// upload fails instead of waiting forever, even while a process an
// earlier command left in the background keeps the session's output open.
func TestSessionUploadLoopDies(t *testing.T) {
	f := fleet.Require(t, 1)
	fh := f.Hosts[0]
	h := transport.Host{Name: fh.Name, Address: fh.Address, Port: fh.Port, User: f.User,
		IdentityFile: f.KeyFile, KnownHosts: f.KnownHosts, Dir: "/srv/app"}
	conn := dial(t, &sshtr.Transport{WaitDelay: 500 * time.Millisecond}, h)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, ok, err := transport.OpenSession(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	// A background process holding the session's output.
	if res, err := s.Run(ctx, transport.Command{Script: "sleep 300 &"}); err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	src, sum := transporttest.LargeSource(t, 256<<20)
	done := make(chan error, 1)
	go func() {
		_, err := s.(transport.SessionUploader).Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"})
		done <- err
	}()
	// Mid-upload: the temporary file has grown; kill the loop and the
	// process reading the file.
	deadline := time.Now().Add(time.Minute)
	killed := false
	for !killed && time.Now().Before(deadline) {
		ents, _ := filepath.Glob(filepath.Join(fh.SrvDir, "app", ".big.golive-*"))
		if len(ents) == 1 {
			if fi, err := os.Stat(ents[0]); err == nil && fi.Size() > 1<<20 {
				for p, cl := range descendants(fh.PID) {
					if strings.Contains(cl, "IFS= read -r n") || strings.HasPrefix(cl, "head -c") {
						syscall.Kill(p, syscall.SIGKILL)
						killed = true
					}
				}
			}
		}
		if killed {
			break // the upload may fail at once now: judged below
		}
		select {
		case err := <-done:
			t.Fatalf("the upload ended before the loop was killed: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !killed {
		t.Fatal("found no loop to kill mid-upload")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Upload succeeded after its loop was killed")
		}
		t.Logf("Upload: %v", err)
	case <-time.After(45 * time.Second):
		t.Fatal("Upload still waiting 45s after the session's loop was killed")
	}
	for p, cl := range descendants(fh.PID) {
		if strings.HasPrefix(cl, "sleep 300") {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if _, err := s.Run(ctx, transport.Command{Script: "true"}); err == nil {
		t.Error("the session ran a command after its loop died")
	}
}
