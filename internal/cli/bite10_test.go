package cli

import (
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Tests written against mutants that survived the cli suite (issue 16,
// docs/mutation/cli.txt): each fails on the bug named in its comment.

// TestVerdictTextC1Boundaries: the C1 controls U+0080..U+009F are escaped
// like the C0 ones (a terminal may act on them: U+009B is CSI); U+00A0 and
// everything above it are printable and kept.
func TestVerdictTextC1Boundaries(t *testing.T) {
	for in, want := range map[string]string{
		"\u007f":        `\x7f`,
		"\u0080":        `\x80`, // first C1 control
		"\u0085 \u009b": `\x85 \x9b`,
		"\u009f":        `\x9f`,   // last C1 control
		"\u00a0":        "\u00a0", // no-break space: printable
		"é ß 日本 \u00a1": "é ß 日本 \u00a1",
		"a\x1b[2Jb":     `a\x1b[2Jb`,
	} {
		if got := verdictText(in); got != want {
			t.Errorf("verdictText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCheckLeaseFlagsBoundaries: the limits themselves are allowed (a
// heartbeat of exactly half the lock timeout, a lease of exactly two
// heartbeats), and a zero lease is refused as not positive, not as too
// short.
func TestCheckLeaseFlagsBoundaries(t *testing.T) {
	half := store.HeartbeatTimeout / 2
	if err := checkLeaseFlags(half, 2*half); err != nil {
		t.Errorf("--heartbeat %s (half of %s) refused: %v", half, store.HeartbeatTimeout, err)
	}
	if err := checkLeaseFlags(5*time.Second, 10*time.Second); err != nil {
		t.Errorf("--lease-ttl of exactly two heartbeats refused: %v", err)
	}
	if err := checkLeaseFlags(half+time.Millisecond, time.Hour); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("--heartbeat just over half the lock timeout: err = %v, want too long", err)
	}
	if err := checkLeaseFlags(5*time.Second, 10*time.Second-time.Millisecond); err == nil || !strings.Contains(err.Error(), "shorter than two heartbeats") {
		t.Errorf("--lease-ttl just under two heartbeats: err = %v", err)
	}
	err := checkLeaseFlags(5*time.Second, 0)
	if err == nil || !strings.Contains(err.Error(), "--lease-ttl 0s: give a positive duration") {
		t.Errorf("--lease-ttl 0: err = %v, want a positive duration asked for", err)
	}
	if code := exitCode(err); code != ExitUsage {
		t.Errorf("--lease-ttl 0: exit %d, want %d", code, ExitUsage)
	}
}

// TestActorIsTheOSUser: without --as and $GOLIVE_USER the actor is the OS
// user's name, not "unknown".
func TestActorIsTheOSUser(t *testing.T) {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		t.Skipf("no OS user here: %v", err)
	}
	e := &env{getenv: func(string) string { return "" }}
	if got := e.actor(""); got != u.Username {
		t.Errorf("actor = %q, want the OS user %q", got, u.Username)
	}
	e = &env{getenv: func(k string) string {
		if k == "GOLIVE_USER" {
			return "ci-bot"
		}
		return ""
	}}
	if got := e.actor(""); got != "ci-bot" {
		t.Errorf("actor with GOLIVE_USER = %q", got)
	}
	if got := e.actor("alice"); got != "alice" {
		t.Errorf("actor --as = %q", got)
	}
}
