package crashtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func permOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// The state directory and database hold output tails, overrides and
// approvals: golive makes them private (0700, 0600, the WAL and its
// shared memory too), tightens what an older golive left 0755/0644, and
// warns about a secrets file other users can read.
func TestStateIsPrivate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	w.cli.Store = filepath.Join(w.dir, ".golive", "state.db")
	w.arm("run", "h3", "switch", killSleep)
	p := w.start("run", "-r", "1.0")
	w.waitMarker(p, "run", "h3", "switch")
	if m := permOf(t, filepath.Dir(w.cli.Store)); m != 0o700 {
		t.Errorf(".golive is %04o, want 0700", m)
	}
	for _, f := range []string{"", "-wal", "-shm"} {
		if m := permOf(t, w.cli.Store+f); m != 0o600 {
			t.Errorf("state.db%s is %04o during a run, want 0600", f, m)
		}
	}
	if r := p.Wait(); r.Code != 0 {
		t.Fatalf("run: %s", r)
	}

	// What an older golive left readable by everyone is made private.
	os.Chmod(filepath.Dir(w.cli.Store), 0o755)
	os.Chmod(w.cli.Store, 0o644)
	secrets := filepath.Join(w.dir, "secrets.env")
	if err := os.WriteFile(secrets, []byte("TOKEN=abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := w.mustExit(0, "run", "-r", "2.0", "--secrets-file", secrets)
	if m := permOf(t, filepath.Dir(w.cli.Store)); m != 0o700 {
		t.Errorf("an old .golive 0755 was left %04o", m)
	}
	if m := permOf(t, w.cli.Store); m != 0o600 {
		t.Errorf("an old state.db 0644 was left %04o", m)
	}
	for _, want := range []string{"warning: made " + w.cli.Store + " private (mode 0600, was 0644)", "warning: secrets file " + secrets + " can be read by other users (mode 0644)"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("golive does not say %q\n%s", want, r)
		}
	}
}

// status, history, logs and report work on a store golive cannot write
// (here a read-only bind mount, which stops root too); commands that
// write refuse it clearly and change nothing.
func TestReadOnlyStore(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a read-only bind mount")
	}
	w := newWorld(t, fourHosts())
	w.mustExit(0, "run", "-r", "1.0")
	run := w.lastRunID()
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", filepath.Dir(w.store), ro).CombinedOutput(); err != nil {
		t.Skipf("bind mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	w.cli.Store = filepath.Join(ro, "state.db")
	before := w.snapshots()
	for _, args := range [][]string{{"status", run}, {"history"}, {"logs", run}, {"report", run}} {
		r := w.mustExit(0, args...)
		if !strings.Contains(r.Stdout, "1.0") || !strings.Contains(r.Stderr, "cannot be written here: showing it read-only") {
			t.Errorf("golive %s on a read-only store\n%s", args[0], r)
		}
	}
	r := w.golive("run", "-r", "2.0")
	if r.Code == 0 || !strings.Contains(r.Stderr, w.cli.Store) {
		t.Errorf("run on a read-only store: want a failure naming the store\n%s", r)
	}
	for h, tr := range w.snapshots() {
		if tr.String() != before[h].String() {
			t.Errorf("host %s changed by a run whose store is read-only", h)
		}
	}
}

// A damaged database is refused on open, naming the file and how to
// recover it, before anything reads it or touches a host.
func TestDamagedStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	w.mustExit(0, "run", "-r", "1.0")
	before := w.snapshots()
	b, err := os.ReadFile(w.store)
	if err != nil || len(b) < 3*4096 {
		t.Fatalf("store %d bytes, %v", len(b), err)
	}
	for i := 4096; i < len(b); i += 4096 {
		copy(b[i+8:i+200], strings.Repeat("\xff", 192))
	}
	if err := os.WriteFile(w.store, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "last"}, {"run", "-r", "2.0"}} {
		r := w.cli.Run(args...)
		if r.Code != 2 {
			t.Errorf("golive %s on a damaged store exited %d, want 2", args[0], r.Code)
		}
		for _, want := range []string{w.store, "database is damaged", ".recover", "backup"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("golive %s: the error does not say %q\n%s", args[0], want, r)
			}
		}
	}
	w.assertRestored(before)
}
