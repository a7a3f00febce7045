package store_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/store"
)

func TestHolderGone(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	alive := func(pids ...int) func(int) bool {
		return func(pid int) bool {
			for _, p := range pids {
				if p == pid {
					return true
				}
			}
			return false
		}
	}
	const space = "boot:b1 pid:[4026531836]"
	here := store.Holder{PID: 1, Hostname: "here", PIDSpace: space}
	lock := func(host, sp string, pid int, age time.Duration) store.Lock {
		return store.Lock{Plan: "p", RunID: "r", Holder: store.Holder{PID: pid, Hostname: host, PIDSpace: sp}, HeartbeatAt: now.Add(-age)}
	}
	stale := store.HeartbeatTimeout + time.Millisecond
	for _, tt := range []struct {
		name string
		l    store.Lock
		want bool
	}{
		{"same pid space, process alive, stale heartbeat", lock("here", space, 10, time.Hour), false},
		{"same pid space, process gone, fresh heartbeat", lock("here", space, 11, 0), true},
		// Containers on the host network: same hostname, another pid
		// namespace, where pid 11 is not visible from here.
		{"other pid namespace, pid not visible, fresh heartbeat", lock("here", "boot:b1 pid:[4026532178]", 11, 5*time.Second), false},
		{"other pid namespace, pid not visible, stale heartbeat", lock("here", "boot:b1 pid:[4026532178]", 11, stale), true},
		{"other pid namespace, pid visible here, stale heartbeat", lock("here", "boot:b1 pid:[4026532178]", 10, stale), true},
		{"rebooted since, fresh heartbeat", lock("here", "boot:b0 pid:[4026531836]", 11, 0), false},
		{"unknown pid space, process gone, fresh heartbeat", lock("here", "", 11, 0), false},
		{"unknown pid space, stale heartbeat", lock("here", "", 11, stale), true},
		{"other host, fresh heartbeat", lock("there", space, 11, 5*time.Second), false},
		{"other host, at the timeout", lock("there", space, 11, store.HeartbeatTimeout), false},
		{"other host, stale heartbeat", lock("there", space, 10, stale), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.HolderGone(tt.l, now, here, alive(10)); got != tt.want {
				t.Errorf("HolderGone = %v, want %v", got, tt.want)
			}
		})
	}
	// With a nil pidAlive, this very process is alive.
	me := store.ThisHolder()
	if store.HolderGone(store.Lock{Holder: me, HeartbeatAt: now.Add(-time.Hour)}, now, me, nil) {
		t.Error("HolderGone(this process) = true")
	}
}

func TestThisPIDSpace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		t.Skip("no /proc/self/ns/pid")
	}
	sp := store.ThisPIDSpace()
	if !regexp.MustCompile(`^boot:[0-9a-f-]{36} pid:\[[0-9]+\]$`).MatchString(sp) {
		t.Errorf("ThisPIDSpace() = %q", sp)
	}
	if os.Geteuid() != 0 {
		return
	}
	// In a new pid namespace (same host, same boot), the space differs.
	out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "readlink", "/proc/self/ns/pid").Output()
	if err != nil {
		t.Skipf("unshare: %v", err)
	}
	if ns := strings.TrimSpace(string(out)); strings.HasSuffix(sp, " "+ns) {
		t.Errorf("a new pid namespace has the same id %s as ours (%s)", ns, sp)
	}
}

func TestPIDAlive(t *testing.T) {
	if !store.PIDAlive(os.Getpid()) {
		t.Error("PIDAlive(self) = false")
	}
	for _, pid := range []int{0, -1} {
		if store.PIDAlive(pid) {
			t.Errorf("PIDAlive(%d) = true", pid)
		}
	}
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	pid := cmd.Process.Pid
	// Not waited for yet, the exited child is a zombie, which counts as gone.
	deadline := time.Now().Add(10 * time.Second)
	for store.PIDAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && store.PIDAlive(pid) {
		t.Errorf("PIDAlive(zombie %d) = true", pid)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if store.PIDAlive(pid) {
		t.Errorf("PIDAlive(reaped %d) = true", pid)
	}
}

func TestMajorityRelease(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	live := func(spec ...string) map[string]store.LiveRelease {
		m := map[string]store.LiveRelease{}
		for i, s := range spec { // "host=release"
			h, rel, _ := strings.Cut(s, "=")
			m[h] = store.LiveRelease{Host: h, Release: rel, Since: t0.Add(time.Duration(i) * time.Minute)}
		}
		return m
	}
	for _, tt := range []struct {
		name string
		live map[string]store.LiveRelease
		want string
	}{
		{"empty", nil, ""},
		{"one", live("a=1"), "1"},
		{"majority", live("a=1", "b=2", "c=1"), "1"},
		{"majority set first", live("a=1", "b=1", "c=2"), "1"},
		{"tie newest wins", live("a=1", "b=2"), "2"},
		{"tie newest wins reversed", live("a=2", "b=1"), "1"},
		{"tie same time greater name", map[string]store.LiveRelease{
			"a": {Release: "1.10", Since: t0}, "b": {Release: "1.9", Since: t0}}, "1.9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order must not matter
				if got := store.MajorityRelease(tt.live); got != tt.want {
					t.Fatalf("MajorityRelease = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestTailOutput(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		wantLen  int
	}{
		{"empty", "", 0},
		{"short", "abc", 3},
		{"exact", strings.Repeat("a", store.MaxOutput), store.MaxOutput},
		{"long", strings.Repeat("a", store.MaxOutput+1), store.MaxOutput},
		{"cut inside a rune", "x" + strings.Repeat("€", store.MaxOutput/3+1), store.MaxOutput - 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := store.TailOutput(tt.in)
			if len(got) != tt.wantLen || !strings.HasSuffix(tt.in, got) || !utf8.ValidString(got) {
				t.Errorf("TailOutput: %d bytes (valid UTF-8 %v), want %d", len(got), utf8.ValidString(got), tt.wantLen)
			}
		})
	}
}

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 15, 30, 0, time.FixedZone("CET", 3600))
	id := store.NewRunID(now)
	if !regexp.MustCompile(`^r-20261126-021530-[0-9a-f]{4}$`).MatchString(id) {
		t.Errorf("NewRunID = %q", id)
	}
	if later := store.NewRunID(now.Add(time.Second)); later <= id {
		t.Errorf("NewRunID not sortable: %q after %q", later, id)
	}
}

func TestErrors(t *testing.T) {
	sce := fmt.Errorf("engine: %w", &store.StateConflictError{RunID: "r", Current: store.StateRunning,
		From: []store.State{store.StatePending}, To: store.StateWaiting})
	le := fmt.Errorf("run: %w", &store.LockedError{Lock: store.Lock{Plan: "p", RunID: "r1",
		Holder: store.Holder{PID: 1, Hostname: "h"}}})
	for _, tt := range []struct {
		err, target error
		want        bool
		text        string
	}{
		{sce, store.ErrStateConflict, true, "engine: run r: cannot move to waiting: state is running, expected one of [pending]"},
		{sce, store.ErrLocked, false, ""},
		{le, store.ErrLocked, true, "run: lock p/(default): held by run r1 (pid 1 on h, requested by , last heartbeat 0001-01-01T00:00:00Z)"},
		{le, store.ErrNotFound, false, ""},
	} {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("errors.Is(%v, %v) = %v", tt.err, tt.target, got)
		}
		if tt.text != "" && tt.err.Error() != tt.text {
			t.Errorf("Error() = %q\nwant %q", tt.err.Error(), tt.text)
		}
	}
}

func TestStates(t *testing.T) {
	terminal := map[store.State]bool{store.StateSucceeded: true, store.StateFailed: true,
		store.StateBackedOut: true, store.StateBackoutFailed: true, store.StateAborted: true}
	for _, s := range store.States {
		if !s.Valid() || s.Terminal() != terminal[s] {
			t.Errorf("%s: Valid %v, Terminal %v", s, s.Valid(), s.Terminal())
		}
	}
	if store.State("bogus").Valid() || len(store.States) != 11 {
		t.Error("unexpected state set")
	}
	if err := store.CheckTransition(nil, store.StateRunning); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CheckTransition(no from) = %v", err)
	}
}

func TestIdentity(t *testing.T) {
	bob := store.Identity{Name: "alice", Via: store.ViaCLI, OSUser: "bob"}
	for _, tc := range []struct {
		a, b store.Identity
		same bool
	}{
		{bob, store.Identity{Name: "carol", Via: store.ViaCLI, OSUser: "bob"}, true},                  // one OS user
		{bob, store.Identity{Name: "bob", Via: store.ViaCLI, OSUser: "dave"}, true},                   // claims bob's account name
		{bob, store.Identity{Name: "carol", Via: store.ViaCLI, OSUser: "carol"}, false},               // two people
		{bob, store.Identity{Name: "carol", Via: store.ViaAPI, OSUser: "bob", Token: "carol"}, false}, // the server's OS user says nothing
		{store.Identity{Name: "x", Via: store.ViaAPI, Token: "t1"}, store.Identity{Name: "y", Via: store.ViaAPI, Token: "t1"}, true},
		{store.Identity{Name: "alice"}, store.Identity{Name: "alice"}, true}, // records of older golives: names only
		{store.Identity{Name: "alice"}, store.Identity{Name: "bob"}, false},
	} {
		if got := store.SamePerson(tc.a, tc.b); got != tc.same {
			t.Errorf("SamePerson(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
	for id, want := range map[store.Identity]string{
		bob: "alice (os user bob)",
		{Name: "bob", Via: store.ViaCLI, OSUser: "bob"}:        "bob",
		{Name: "ci", Via: store.ViaAPI, Token: "ci"}:           "ci (api)",
		{Name: "ci", Via: store.ViaAPI, Token: "deploy-token"}: "ci (token deploy-token)",
		{Name: "old"}: "old",
	} {
		if got := id.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", id, got, want)
		}
	}
	if (store.Identity{Name: "x", Via: store.ViaCLI, OSUser: "x"}).Authenticated() || !(store.Identity{Name: "x", Via: store.ViaAPI, Token: "x"}).Authenticated() {
		t.Error("Authenticated: only a token vouches")
	}
}

func TestArtifactSums(t *testing.T) {
	a := store.NewArtifactSums(map[string]string{"app": "aaaa1111", "cfg": "cccc"})
	if a != store.NewArtifactSums(map[string]string{"cfg": "cccc", "app": "aaaa1111"}) {
		t.Error("not canonical")
	}
	b := store.NewArtifactSums(map[string]string{"app": "bbbb2222", "new": "dddd"})
	if got, want := a.Diff(b), "app sha256 aaaa1111…, now bbbb2222…; cfg is gone (was sha256 cccc…); new is new (sha256 dddd…)"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
	if a.Diff(a) != "" || store.ArtifactSums("").Bound() || !store.NewArtifactSums(nil).Bound() {
		t.Error("Diff of equal sums, or Bound, wrong")
	}
}

func TestMigrationDue(t *testing.T) {
	for _, c := range []struct {
		latest, known, version int
		due                    bool
		err                    string
	}{
		{0, 3, 1, true, ""},
		{1, 3, 2, true, ""},
		{2, 3, 2, false, ""},
		{3, 3, 1, false, ""},
		{4, 3, 1, false, "newer than this golive knows (3): upgrade golive"},
		{0, 3, 2, false, "database schema version 0, want 1"},
	} {
		due, err := store.MigrationDue(c.latest, c.known, c.version)
		if due != c.due || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("MigrationDue(%d, %d, %d) = %v, %v; want %v, %q", c.latest, c.known, c.version, due, err, c.due, c.err)
		}
	}
}

func TestTakeBatch(t *testing.T) {
	ch := make(chan int, 10)
	for i := 2; i <= 6; i++ {
		ch <- i
	}
	if got := store.TakeBatch(nil, 1, ch, 4); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Errorf("TakeBatch up to 4: %v", got)
	}
	close(ch)
	if got := store.TakeBatch(make([]int, 0, 8), 9, ch, 4); fmt.Sprint(got) != "[9 5 6]" {
		t.Errorf("TakeBatch of what is left, then a closed queue: %v", got)
	}
	ch2 := make(chan int)
	if got := store.TakeBatch(nil, 7, ch2, 4); fmt.Sprint(got) != "[7]" {
		t.Errorf("TakeBatch with nothing queued: %v", got)
	}
}
