package store_test

// Tests that close survivors of the mutation run of internal/store
// (docs/mutation/store.txt): each fails on the mutant named above it.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// lease.go:115 (`l.Epoch > 0` -> `>=`, `<=`): a context carries a lease
// (an executor's write, which a PostgreSQL store keeps retrying through
// an outage) only with an epoch; the zero Lease (epoch 0, what a run
// never leased has) is no lease, whatever its run id.
func TestLeasedOnlyWithAnEpoch(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"no lease", ctx, false},
		{"epoch 0", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h"}), false},
		{"epoch 1", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h", Epoch: 1}), true},
		{"epoch 7", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h", Epoch: 7}), true},
	} {
		if got := store.Leased(tt.ctx); got != tt.want {
			t.Errorf("%s: Leased = %v, want %v", tt.name, got, tt.want)
		}
	}
	if e := store.FenceEpoch(store.WithLease(ctx, store.Lease{RunID: "r", Epoch: 7}), "r"); e != 7 {
		t.Errorf("FenceEpoch of the leased run = %d, want 7", e)
	}
}

// event.go:94 (`len(s) <= MaxOutput` -> `<`): output within the limit is
// kept byte for byte, also at exactly MaxOutput bytes and when its first
// bytes are not a character's start (a program printing binary data):
// only a cut may drop the bytes of a split character.
func TestTailOutputKeepsOutputWithinTheLimit(t *testing.T) {
	for _, n := range []int{1, store.MaxOutput - 1, store.MaxOutput} {
		in := ("\x80\x80" + strings.Repeat("z", n))[:n]
		if got := store.TailOutput(in); got != in {
			t.Errorf("%d bytes starting with continuation bytes: kept %d bytes, want all", n, len(got))
		}
	}
	// One byte over: cut to the last MaxOutput bytes, then to the next
	// character's start.
	in := "a" + "\x80\x80" + strings.Repeat("z", store.MaxOutput-2)
	if got := store.TailOutput(in); got != strings.Repeat("z", store.MaxOutput-2) {
		t.Errorf("cut output: %d bytes %q..., want the z's only", len(got), got[:min(4, len(got))])
	}
	// event.go:98:16 (`i < utf8.UTFMax` -> `<=`): a cut drops at most the
	// 3 continuation bytes of one split character; a longer run of them
	// is binary data, kept: the last MaxOutput bytes exactly.
	in = "a" + strings.Repeat("\x80", 4) + strings.Repeat("z", store.MaxOutput-4)
	if got := store.TailOutput(in); got != in[1:] {
		t.Errorf("cut binary output: %d bytes, want the last %d", len(got), store.MaxOutput)
	}
}

// redacted.go:47 (`for st != nil` -> `==`): PathOf finds a SQLite store's
// file through the Redacted decorator every command wraps it in (what
// `golive release` reports as the journal's place); "" for nil.
func TestPathOfLooksThroughDecorators(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	raw, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for name, st := range map[string]store.Store{
		"sqlite":         raw,
		"redacted":       store.Redacted(raw, strings.ToUpper),
		"redacted twice": store.Redacted(store.Redacted(raw, strings.ToUpper), strings.ToLower),
		"nil redactor":   store.Redacted(raw, nil),
		"redacted no-op": store.Redacted(raw, func(s string) string { return s }),
	} {
		if got := store.PathOf(st); got != path {
			t.Errorf("%s: PathOf = %q, want %q", name, got, path)
		}
	}
	if got := store.PathOf(nil); got != "" {
		t.Errorf("PathOf(nil) = %q", got)
	}
}

// identity.go:106 (`err == nil && u.Username != ""` -> `!=`, `==`): the
// OS user recorded with every run and approval is the name of this
// process's real uid, as the system's user database has it (what `id
// -un` prints), not "uid N".
func TestProcessOSUserIsTheRealUidsName(t *testing.T) {
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Skipf("id -un: %v", err)
	}
	if got, want := store.ProcessOSUser(), strings.TrimSpace(string(out)); got != want {
		t.Fatalf("ProcessOSUser = %q, want %q (id -un)", got, want)
	}
}

// identity.go:100 (`uid < 0` -> `>=`: user.Current on Linux): a process
// whose uid has no name (a container's arbitrary uid) is recorded as
// "uid N", never as $USER or $LOGNAME, which anyone can set (user.Current
// falls back to $USER without cgo, and fails with it). Run as root: the
// test binary runs itself as uid 54321 with USER=alice.
func TestProcessOSUserOfAnUnnamedUid(t *testing.T) {
	if os.Getenv("GOLIVE_STORE_PRINT_OSUSER") == "1" {
		fmt.Printf("\nOSUSER %q\n", store.ProcessOSUser())
		return
	}
	store.ProcessOSUser() // this process's own: the line runs here too
	const uid = 54321
	if _, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		t.Skipf("uid %d has a name here", uid)
	}
	cmd, dir := osUserChild(t, "^TestProcessOSUserOfAnUnnamedUid$")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	cmd.Dir = dir
	wantOSUser(t, cmd, "uid 54321")
}

// identity.go:100 (`uid < 0` -> `<=`: user.Current for root): root
// without a name (a container image without /etc/passwd) is "uid 0", not
// "unknown" or $USER. The test binary runs itself in a mount namespace of
// its own, where /etc/passwd has no root and names are looked up in files
// only.
func TestProcessOSUserOfANamelessRoot(t *testing.T) {
	store.ProcessOSUser()
	cmd, dir := osUserChild(t, "^TestProcessOSUserOfAnUnnamedUid$")
	passwd, nss := filepath.Join(dir, "passwd"), filepath.Join(dir, "nsswitch.conf")
	if err := os.WriteFile(passwd, []byte("daemon:x:1:1:daemon:/:/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nss, []byte("passwd: files\ngroup: files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Args = []string{"sh", "-c", `p=$1 n=$2 b=$3; shift 3; mount --bind "$p" /etc/passwd && mount --bind "$n" /etc/nsswitch.conf && exec "$b" "$@"`,
		"sh", passwd, nss, cmd.Path, "-test.run", "^TestProcessOSUserOfAnUnnamedUid$"}
	cmd.Path = "/bin/sh"
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	// Without the right to make a mount namespace (a container without
	// CAP_SYS_ADMIN) there is nothing to test.
	probe := exec.Command("/bin/sh", "-c", `mount --bind "$1" /etc/passwd`, "sh", passwd)
	probe.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("no mount namespace of its own here: %v %s", err, out)
	}
	wantOSUser(t, cmd, "uid 0")
}

// osUserChild prepares this test binary, copied where any uid can run
// it, to run the test run (which prints ProcessOSUser) with USER=alice.
func osUserChild(t *testing.T, run string) (*exec.Cmd, string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root (another uid, a mount namespace)")
	}
	dir, err := os.MkdirTemp("", "osuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "store.test")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, "-test.run", run)
	cmd.Env = []string{"GOLIVE_STORE_PRINT_OSUSER=1", "USER=alice", "LOGNAME=alice", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	return cmd, dir
}

func wantOSUser(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	if w := fmt.Sprintf("OSUSER %q", want); !strings.Contains(string(out), "\n"+w+"\n") {
		t.Fatalf("ProcessOSUser with USER=alice: %q, want %s", out, w)
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
