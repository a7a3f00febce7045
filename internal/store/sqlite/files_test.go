package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// writeRun writes a run and an event, so that the WAL and its
// shared-memory file exist.
func writeRun(t *testing.T, s *sqlite.Store) store.Run {
	t.Helper()
	r, err := s.CreateRun(context.Background(), store.Run{Plan: "p", Release: "1", Requester: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvent(context.Background(), store.Event{RunID: r.ID, Kind: store.KindRun, Action: "note", Message: "secret-ish tail"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// A new store is private whatever the umask: the directory 0700, the
// database and its WAL and shared-memory files 0600.
func TestNewStoreIsPrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "plan", ".golive")
	path := filepath.Join(dir, "state.db")
	s := open(t, path)
	writeRun(t, s)
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("%s mode %04o, want 0700", dir, m)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", p, m)
		}
	}
	if n := s.Notes(); len(n) != 0 {
		t.Errorf("notes on a new store: %q", n)
	}
}

// A store an older golive made 0755/0644 is made private on open, and
// says so; a mode someone chose that lets every user read it is left as
// it is, with a warning.
func TestExistingStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".golive")
	path := filepath.Join(dir, "state.db")
	s := open(t, path)
	writeRun(t, s)
	s.Close()
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o644)
	s2 := open(t, path)
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("old .golive mode not tightened: %04o", m)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("old state.db mode not tightened: %04o", m)
	}
	if n := strings.Join(s2.Notes(), "\n"); !strings.Contains(n, "made "+path+" private (mode 0600, was 0644)") {
		t.Errorf("notes %q do not say the store was made private", n)
	}
	s2.Close()

	os.Chmod(path, 0o604)
	s3 := open(t, path)
	if m := mode(t, path); m != 0o604 {
		t.Errorf("a mode the owner chose was changed to %04o", m)
	}
	if n := strings.Join(s3.Notes(), "\n"); !strings.Contains(n, path+" is open to every local user (mode 0604)") {
		t.Errorf("notes %q do not warn about a world-readable store", n)
	}
}

// A file that is not a database, and a database whose pages are damaged,
// are refused on open with ErrDamaged, naming the file and how to recover.
func TestDamagedStoreRefused(t *testing.T) {
	t.Run("not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 400)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := sqlite.Open(context.Background(), path)
		checkDamaged(t, err, path)
	})
	t.Run("damaged pages", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		s := open(t, path)
		for range 50 {
			writeRun(t, s)
		}
		s.Close()
		b, err := os.ReadFile(path)
		if err != nil || len(b) < 4*4096 {
			t.Fatalf("database %d bytes, %v", len(b), err)
		}
		// Scribble over the b-tree pages after the first (the schema).
		for i := 4096; i < len(b); i += 4096 {
			copy(b[i+8:i+200], strings.Repeat("\xff", 192))
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = sqlite.Open(context.Background(), path)
		checkDamaged(t, err, path)
		_, err = sqlite.OpenReadOnly(context.Background(), path)
		checkDamaged(t, err, path)
	})
}

func checkDamaged(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, sqlite.ErrDamaged) {
		t.Fatalf("Open = %v, want ErrDamaged", err)
	}
	for _, want := range []string{path, ".recover", "backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Logf("Open: %v", err)
}

// readOnlyMount bind-mounts dir read-only at a new path (root only): even
// root cannot write there.
func readOnlyMount(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a read-only bind mount")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", dir, ro).CombinedOutput(); err != nil {
		t.Skipf("bind mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	return ro
}

// A store on a read-only mount cannot be opened for writing (IsReadOnly
// says why) but OpenReadOnly reads it, whether or not the WAL files are
// there, and writes nothing.
func TestOpenReadOnly(t *testing.T) {
	for _, walOpen := range []bool{false, true} {
		name := map[bool]string{false: "closed cleanly", true: "with its WAL"}[walOpen]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.db")
			s := open(t, path)
			r := writeRun(t, s)
			if !walOpen {
				s.Close()
			}
			ro := readOnlyMount(t, dir)
			roPath := filepath.Join(ro, "state.db")
			// (With the writer open in this process, SQLite shares its
			// file descriptor, so only a closed store shows the error.)
			if !walOpen {
				_, err := sqlite.Open(context.Background(), roPath)
				if err == nil || !sqlite.IsReadOnly(err) {
					t.Fatalf("Open(read-only mount) = %v, want a read-only error", err)
				}
			}
			rs, err := sqlite.OpenReadOnly(context.Background(), roPath)
			if err != nil {
				t.Fatalf("OpenReadOnly: %v", err)
			}
			defer rs.Close()
			got, err := rs.GetRun(context.Background(), r.ID)
			if err != nil || got.Release != "1" {
				t.Errorf("GetRun = %+v, %v", got, err)
			}
			evs, err := rs.Events(context.Background(), r.ID, 0)
			if err != nil || len(evs) < 2 {
				t.Errorf("Events = %d, %v", len(evs), err)
			}
			if _, err := rs.AppendEvent(context.Background(), store.Event{RunID: r.ID, Kind: store.KindRun, Action: "x"}); err == nil {
				t.Error("AppendEvent on a read-only store succeeded")
			}
			if !rs.ReadOnly() || len(rs.Notes()) == 0 {
				t.Errorf("ReadOnly %v, notes %q", rs.ReadOnly(), rs.Notes())
			}
		})
	}
}
