package check_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// Tests written against mutants that survived the suite (issue 16): each
// fails on the bug named in its comment.

// TestCommandPathShownUpTo255Bytes: a command's path is shown when it is
// shorter than 256 bytes; a longer one is only "found".
func TestCommandPathShownUpTo255Bytes(t *testing.T) {
	f := &rollout.Fact{Kind: "command", Name: "x"}
	for _, c := range []struct {
		n    int
		want string
	}{{255, "at /"}, {256, "found"}} {
		path := "/" + strings.Repeat("a", c.n-1)
		r := check.JudgeFact(f, map[string]string{"found": "yes", "path": path}, "")
		if !r.OK || !strings.HasPrefix(r.Found, c.want) {
			t.Errorf("path of %d bytes: %+v, want OK and found %q...", c.n, r, c.want)
		}
	}
}

// TestSystemdServiceStates: a systemd unit that is active or reloading is
// running; any other state is stopped.
func TestSystemdServiceStates(t *testing.T) {
	for active, running := range map[string]bool{"active": true, "reloading": true, "inactive": false, "failed": false} {
		f := &rollout.Fact{Kind: "service", Name: "nginx", State: "running"}
		r := check.JudgeFact(f, map[string]string{"via": "systemd", "load": "loaded", "active": active}, "")
		if r.OK != running || r.Unknown {
			t.Errorf("active=%s: %+v, want OK=%v", active, r, running)
		}
	}
}

// TestParseFactsExitCode: the current command's exit code is -1 when the
// script did not report one or reported one above 255.
func TestParseFactsExitCode(t *testing.T) {
	const n = "golive-fact-abc"
	h := func(s string) string { return hex.EncodeToString([]byte(s)) }
	for out, want := range map[string]int{
		n + " end done " + h("ok"):  -1,
		n + " c rc " + h("255"):     255,
		n + " c rc " + h("256"):     -1,
		n + " c rc " + h("0"):       0,
		n + " c rc " + h("-1"):      -1,
		n + " c rc " + h("1") + "x": -1,
	} {
		if g := check.ParseFacts(out, n, 1); g.CurrentRC != want {
			t.Errorf("%q: CurrentRC = %d, want %d", out, g.CurrentRC, want)
		}
	}
}

// TestDialerResolvesLocalDir: a local host's dir written in the plan is
// resolved (beside the plan), not taken from the working directory.
func TestDialerResolvesLocalDir(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &check.Dialer{
		Transports: map[string]transport.Transport{"local": &local.Transport{}},
		Resolve:    func(p string) string { return filepath.Join(root, p) },
		PlanDir:    root,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, &rollout.Host{Name: "h1", Transport: "local", Dir: "site"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out strings.Builder
	if _, err := c.Run(ctx, transport.Command{Script: "pwd -P", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(root, "site"))
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("ran in %q, want %q", got, want)
	}
}

// TestDiskFreeUpTo2To52KiB: free space is read up to 2^52 KiB (4 EiB,
// whose bytes still fit an int64); a larger number is unknown, not
// wrapped around.
func TestDiskFreeUpTo2To52KiB(t *testing.T) {
	f := &rollout.Fact{Kind: "disk", Path: "/", Bytes: 1}
	for kib, known := range map[string]bool{"4503599627370496": true, "4503599627370497": false} {
		r := check.JudgeFact(f, map[string]string{"avail_kib": kib}, "")
		if r.Unknown == known || r.OK != known {
			t.Errorf("avail_kib %s: %+v, want known=%v", kib, r, known)
		}
	}
}

// TestFactTexts: what a fact wants and what was found, as the review
// shows them.
func TestFactTexts(t *testing.T) {
	for _, c := range []struct {
		f    *rollout.Fact
		want string
	}{
		{&rollout.Fact{Kind: "package", Name: "nginx", Version: ">= 1.2"}, ">= 1.2"},
		{&rollout.Fact{Kind: "package", Name: "nginx"}, "installed"},
		{&rollout.Fact{Kind: "command", Name: "git", Version: ">= 2"}, ">= 2"},
		{&rollout.Fact{Kind: "command", Name: "git"}, "on PATH"},
		{&rollout.Fact{Kind: "file", Path: "/etc/x", Exists: true, Mode: "0640", Owner: "root"}, "exists, mode 0640, owner root"},
		{&rollout.Fact{Kind: "file", Path: "/etc/x", Exists: true}, "exists"},
	} {
		if got := check.FactWant(c.f); got != c.want {
			t.Errorf("%s %s: want text %q, want %q", c.f.Kind, c.f.Name+c.f.Path, got, c.want)
		}
	}
	r := check.JudgeFact(&rollout.Fact{Kind: "disk", Path: "/", Bytes: 1}, map[string]string{"avail_kib": "1048576"}, "")
	if want := plan.FormatBytes(1<<30) + " free"; !r.OK || r.Found != want {
		t.Errorf("disk: %+v, want OK and found %q", r, want)
	}
}

// TestServiceNotInstalled: a unit systemd does not know is what a fact
// wanting the service stopped wants, not what one wanting it running does.
func TestServiceNotInstalled(t *testing.T) {
	for state, ok := range map[string]bool{"stopped": true, "running": false} {
		r := check.JudgeFact(&rollout.Fact{Kind: "service", Name: "nginx", State: state}, map[string]string{"via": "systemd", "load": "not-found"}, "")
		if r.OK != ok || r.Found != "not installed" {
			t.Errorf("want %s: %+v, want OK=%v, found not installed", state, r, ok)
		}
	}
}

// TestParseFactsFieldWords: a field name is a word of a-z, 0-9 and _,
// the whole alphabet (the probes' own fields use only part of it).
func TestParseFactsFieldWords(t *testing.T) {
	const n = "golive-fact-abc"
	h := hex.EncodeToString([]byte("v"))
	g := check.ParseFacts(n+" 0 az_09 "+h+"\n"+n+" 0 zz99 "+h+"\n"+n+" 0 a-b "+h+"\n", n, 1)
	if g.Facts[0]["az_09"] != "v" || g.Facts[0]["zz99"] != "v" || len(g.Facts[0]) != 2 {
		t.Errorf("facts = %v, want az_09 and zz99 only", g.Facts[0])
	}
}

// TestHostsRegexKeepsLettersAndDigits: the query a review shows stays
// readable: every ASCII letter and digit, the ends of the ranges too, is
// written as itself, not as \x{..}.
func TestHostsRegexKeepsLettersAndDigits(t *testing.T) {
	got := check.AddressesRegex([]string{"az", "AZ", "09", "web-1.x"})
	want := `^(?:az|AZ|09|web[-]1[.]x)(?::[0-9]+)?$`
	if got != want {
		t.Errorf("AddressesRegex = %q, want %q", got, want)
	}
}

// TestParseFactsBounds: a value of exactly 4096 bytes, a field name of 32
// characters and a fact index of 19 digits are taken; one more of each is
// ignored, and so is an index past the facts asked for.
func TestParseFactsBounds(t *testing.T) {
	const n = "golive-fact-abc"
	hexOf := func(s string) string { return hex.EncodeToString([]byte(s)) }
	v4096, v4097 := strings.Repeat("v", 4096), strings.Repeat("v", 4097)
	w32, w33 := strings.Repeat("w", 32), strings.Repeat("w", 33)
	i19, i20 := strings.Repeat("0", 18)+"1", strings.Repeat("0", 19)+"1"
	out := strings.Join([]string{
		n + " 0 big " + hexOf(v4096), n + " 0 toobig " + hexOf(v4097),
		n + " 0 " + w32 + " " + hexOf("x"), n + " 0 " + w33 + " " + hexOf("x"),
		n + " " + i19 + " long " + hexOf("y"), n + " " + i20 + " longer " + hexOf("y"),
		n + " 2 past " + hexOf("z"),
	}, "\n")
	g := check.ParseFacts(out, n, 2)
	if g.Facts[0]["big"] != v4096 || g.Facts[0][w32] != "x" || len(g.Facts[0]) != 2 {
		t.Errorf("fact 0 has %d fields (big: %d bytes, 32-char name: %q), want big and the 32-char name only",
			len(g.Facts[0]), len(g.Facts[0]["big"]), g.Facts[0][w32])
	}
	if g.Facts[1]["long"] != "y" || len(g.Facts[1]) != 1 {
		t.Errorf("fact 1 = %v, want long only (19-digit index)", g.Facts[1])
	}
}

// TestGatherFactsReportsTheTransportError: when the script is stopped (its
// context ends), the error says so, not "ended early".
func TestGatherFactsReportsTheTransportError(t *testing.T) {
	conn, err := (&local.Transport{}).Dial(context.Background(), transport.Host{Name: "h1", Dir: t.TempDir(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = check.GatherFacts(ctx, conn, nil, "exec sleep 20", true, nil)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("GatherFacts = %v, want the context's deadline", err)
	}
}

// TestFactJudgeEdges: disk and memory say which probe gave no answer; free
// space of exactly what is wanted is enough; a sha256 of 12 characters is
// shown whole, a longer one cut; a file fact without an owner ignores the
// owner found.
func TestFactJudgeEdges(t *testing.T) {
	text := func(r check.FactResult) string { return r.Found + " | " + r.Detail }
	if r := check.JudgeFact(&rollout.Fact{Kind: "disk", Path: "/", Bytes: 1}, map[string]string{}, ""); !r.Unknown || !strings.Contains(text(r), "df gave no answer") {
		t.Errorf("disk without an answer: %+v", r)
	}
	if r := check.JudgeFact(&rollout.Fact{Kind: "memory", Bytes: 1}, map[string]string{}, ""); !r.Unknown || !strings.Contains(text(r), "MemAvailable") {
		t.Errorf("memory without an answer: %+v", r)
	}
	if r := check.JudgeFact(&rollout.Fact{Kind: "disk", Path: "/", Bytes: 1 << 20}, map[string]string{"avail_kib": "1024"}, ""); !r.OK {
		t.Errorf("1 MiB free, 1 MiB wanted: %+v, want OK", r)
	}
	short := check.FactWant(&rollout.Fact{Kind: "file", Path: "/x", Exists: true, SHA256: "abcdef012345"})
	long := check.FactWant(&rollout.Fact{Kind: "file", Path: "/x", Exists: true, SHA256: strings.Repeat("ab", 32)})
	if short != "exists, sha256 abcdef012345" || long != "exists, sha256 "+strings.Repeat("ab", 6)+"…" {
		t.Errorf("want texts %q, %q", short, long)
	}
	r := check.JudgeFact(&rollout.Fact{Kind: "file", Path: "/x", Exists: true, Mode: "0640"},
		map[string]string{"exists": "yes", "mode": "640", "owner": "www-data"}, "")
	if !r.OK || strings.Contains(r.Found, "owner") {
		t.Errorf("file fact without an owner: %+v, want OK and no owner in found", r)
	}
}
