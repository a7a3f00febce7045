package check_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// factCase is one fact and what the controller's own host must answer.
type factCase struct {
	fact    *rollout.Fact
	ok      bool
	unknown bool
	found   string // a part of Found
}

// hostFacts builds facts about this machine: what is installed, a port a
// listener holds, a file with a known mode and content.
func hostFacts(t *testing.T) []factCase {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(file, []byte("key=value\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, 0o640)
	sum := sha256.Sum256([]byte("key=value\n"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	busy := ln.Addr().(*net.TCPAddr).Port
	free := freePort(t)
	me := currentUser(t)
	cases := []factCase{
		{fact: &rollout.Fact{Kind: "command", Name: "sh"}, ok: true, found: "at /"},
		{fact: &rollout.Fact{Kind: "command", Name: "golive-no-such-command"}, found: "not on PATH"},
		{fact: &rollout.Fact{Kind: "service", Name: "golive-no-such-service", State: "stopped"}, ok: true, found: "stopped"},
		{fact: &rollout.Fact{Kind: "service", Name: "golive-no-such-service", State: "running"}, found: "stopped"},
		{fact: &rollout.Fact{Kind: "port", Port: busy, State: "free"}, found: "listening"},
		{fact: &rollout.Fact{Kind: "port", Port: busy, State: "listening"}, ok: true, found: "listening"},
		{fact: &rollout.Fact{Kind: "port", Port: free, State: "free"}, ok: true, found: "free"},
		{fact: &rollout.Fact{Kind: "disk", Path: dir, Bytes: 1}, ok: true, found: "free"},
		{fact: &rollout.Fact{Kind: "disk", Path: dir, Bytes: 1 << 60}, found: "free"},
		{fact: &rollout.Fact{Kind: "disk", Path: "/golive/no/such/dir", Bytes: 1}, unknown: true, found: "unknown"},
		{fact: &rollout.Fact{Kind: "memory", Bytes: 1 << 20}, ok: true, found: "available"},
		{fact: &rollout.Fact{Kind: "memory", Bytes: 1 << 60}, found: "available"},
		{fact: &rollout.Fact{Kind: "user", Name: me}, ok: true, found: "exists (uid "},
		{fact: &rollout.Fact{Kind: "user", Name: "golive-no-such-user"}, found: "missing"},
		{fact: &rollout.Fact{Kind: "file", Path: file, Exists: true, Mode: "0640", Owner: me, SHA256: hex.EncodeToString(sum[:])}, ok: true, found: "mode 0640"},
		{fact: &rollout.Fact{Kind: "file", Path: file, Exists: true, Mode: "0600"}, found: "mode 0640"},
		{fact: &rollout.Fact{Kind: "file", Path: file, Exists: true, SHA256: strings.Repeat("0", 64)}, found: "sha256 " + hex.EncodeToString(sum[:])[:12]},
		{fact: &rollout.Fact{Kind: "file", Path: file + ".missing", Exists: true}, found: "absent"},
		{fact: &rollout.Fact{Kind: "file", Path: file + ".missing", Exists: false}, ok: true, found: "absent"},
	}
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		cases = append(cases,
			factCase{fact: &rollout.Fact{Kind: "package", Name: "dpkg", Version: ">= 1.0"}, ok: true, found: "1."},
			factCase{fact: &rollout.Fact{Kind: "package", Name: "dpkg", Version: ">= 99:1"}, found: "1."},
			factCase{fact: &rollout.Fact{Kind: "package", Name: "golive-no-such-package"}, found: "not installed"})
	}
	if _, err := exec.LookPath("tar"); err == nil {
		cases = append(cases,
			factCase{fact: &rollout.Fact{Kind: "command", Name: "tar", Version: ">= 1.0"}, ok: true, found: "1."},
			factCase{fact: &rollout.Fact{Kind: "command", Name: "tar", Version: ">= 99"}, found: "1."})
	}
	return cases
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func currentUser(t *testing.T) string {
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func localConn(t *testing.T) transport.Conn {
	t.Helper()
	c, err := (&local.Transport{}).Dial(context.Background(), transport.Host{Name: "h1", Dir: t.TempDir(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func judgeAll(t *testing.T, cases []factCase, g check.Gathered) {
	t.Helper()
	for i, c := range cases {
		r := check.JudgeFact(c.fact, g.Facts[i], "")
		if r.OK != c.ok || r.Unknown != c.unknown || !strings.Contains(r.Found, c.found) {
			t.Errorf("%s %+v: got %+v, want ok=%v unknown=%v found containing %q", c.fact.Kind, *c.fact, r, c.ok, c.unknown, c.found)
		}
		if !strings.Contains(r.Detail, r.Found+", want "+r.Want) {
			t.Errorf("detail %q does not show found beside want", r.Detail)
		}
	}
}

// TestGatherFactsLocal probes this machine through the local transport,
// in one script.
func TestGatherFactsLocal(t *testing.T) {
	cases := hostFacts(t)
	facts := make([]*rollout.Fact, len(cases))
	for i, c := range cases {
		facts[i] = c.fact
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := check.GatherFacts(ctx, localConn(t), facts, `echo "2.0 on $GOLIVE_HOST"`, true, map[string]string{"GOLIVE_HOST": "h1"})
	if err != nil {
		t.Fatal(err)
	}
	judgeAll(t, cases, g)
	if g.CurrentRC != 0 || g.CurrentOut != "2.0 on h1" {
		t.Errorf("current: rc %d out %q", g.CurrentRC, g.CurrentOut)
	}
}

// TestGatherFactsBusybox runs the same script with busybox sh and only
// busybox's applets on PATH, as on Alpine: no dpkg, rpm or apk, so a
// package is unknown, and everything else still answers.
func TestGatherFactsBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox (apt-get install busybox)")
	}
	bin := t.TempDir()
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "dpkg" || applet == "dpkg-deb" || applet == "rpm" || applet == "rpm2cpio" {
			continue
		}
		os.Symlink(bb, filepath.Join(bin, applet))
	}
	cases := hostFacts(t)
	var keep []factCase
	for _, c := range cases {
		switch {
		case c.fact.Kind == "package":
			c.ok, c.unknown, c.found = false, true, "unknown (no dpkg, rpm or apk"
		case c.fact.Kind == "command" && c.fact.Name == "tar":
			continue // busybox tar --version has no version
		case c.fact.Kind == "command" && c.fact.Name == "sh":
			c.found = "at " + bin
		}
		keep = append(keep, c)
	}
	keep = append(keep, factCase{fact: &rollout.Fact{Kind: "package", Name: "musl"}, unknown: true, found: "unknown"})
	facts := make([]*rollout.Fact, len(keep))
	for i, c := range keep {
		facts[i] = c.fact
	}
	nonce := check.Nonce()
	cmd := exec.Command(bb, "sh", "-c", check.FactScript(nonce, facts, "echo 1.0", true))
	cmd.Env = []string{"PATH=" + bin}
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	g := check.ParseFacts(string(raw), nonce, len(facts))
	if !g.Complete {
		t.Fatalf("script did not finish:\n%s", raw)
	}
	judgeAll(t, keep, g)
	if g.CurrentOut != "1.0" {
		t.Errorf("current: %q", g.CurrentOut)
	}
}

// TestFactScriptQuotesPlanValues: names and paths from the plan can never
// become code, whatever they hold.
func TestFactScriptQuotesPlanValues(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	evil := []string{
		"x'; touch " + pwned + "; '",
		"$(touch " + pwned + ")",
		"`touch " + pwned + "`",
		"x\ntouch " + pwned,
		"-x; touch " + pwned,
	}
	var facts []*rollout.Fact
	for _, e := range evil {
		facts = append(facts,
			&rollout.Fact{Kind: "package", Name: e, Version: ">= 1"},
			&rollout.Fact{Kind: "command", Name: e, Version: ">= 1"},
			&rollout.Fact{Kind: "service", Name: e, State: "running"},
			&rollout.Fact{Kind: "user", Name: e},
			&rollout.Fact{Kind: "disk", Path: "/" + e, Bytes: 1},
			&rollout.Fact{Kind: "file", Path: "/" + e, Exists: true, Owner: e, SHA256: e})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := check.GatherFacts(ctx, localConn(t), facts, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a plan value ran as code")
	}
	for i, f := range facts {
		if r := check.JudgeFact(f, g.Facts[i], ""); r.OK {
			t.Errorf("%s %q passed: %+v", f.Kind, f.Name+f.Path, r)
		}
	}
}

// TestParseFactsStrict: only well-formed lines with the nonce count.
func TestParseFactsStrict(t *testing.T) {
	n := "golive-fact-abc"
	h := func(s string) string { return hex.EncodeToString([]byte(s)) }
	out := strings.Join([]string{
		"motd: " + n + " 0 installed " + h("yes"),   // not at the start
		"golive-fact-other 0 installed " + h("yes"), // another nonce
		n + " 0 mgr " + h("dpkg"),
		n + " 0 mgr " + h("rpm"),                      // a repeated field keeps the first
		n + " 0 version " + strings.ToUpper(h("1.0")), // uppercase hex
		n + " 0 version " + h("1.0") + " extra",       // five fields
		n + " 0 Installed " + h("yes"),                // not a word
		n + " 7 installed " + h("yes"),                // no fact 7
		n + " -1 installed " + h("yes"),
		n + " 0 installed zz",
		n + " 1 version " + h(strings.Repeat("9", 5000)), // too long
		n + " c rc " + h("0"),
		n + " c out " + h("1.9\x1b[2J"),
		n + " end done " + h("ok"),
	}, "\n")
	g := check.ParseFacts(out, n, 2)
	want := map[string]string{"mgr": "dpkg"}
	if fmt.Sprint(g.Facts[0]) != fmt.Sprint(want) || len(g.Facts[1]) != 0 {
		t.Errorf("facts: %v", g.Facts)
	}
	if !g.Complete || g.CurrentRC != 0 || g.CurrentOut != "1.9\x1b[2J" {
		t.Errorf("gathered: %+v", g)
	}
	// The package is unknown: installed was never said validly.
	r := check.JudgeFact(&rollout.Fact{Kind: "package", Name: "nginx"}, g.Facts[0], "")
	if r.OK || !r.Unknown {
		t.Errorf("package: %+v", r)
	}
	// A version the target reports must look like one.
	r = check.JudgeFact(&rollout.Fact{Kind: "package", Name: "nginx", Version: ">= 1"},
		map[string]string{"mgr": "dpkg", "installed": "yes", "version": "9\x1b[31m"}, "")
	if r.OK || !r.Unknown || strings.Contains(r.Detail, "\x1b") {
		t.Errorf("hostile version: %+v", r)
	}
}

// TestGatherFactsRPM runs the script on a host with rpm and no dpkg (as
// on RHEL): a real package built with rpmbuild and installed into an rpm
// database of the test's own (HOME's .rpmmacros points rpm at it).
func TestGatherFactsRPM(t *testing.T) {
	for _, tool := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (apt-get install rpm)", tool)
		}
	}
	home := t.TempDir()
	macros := fmt.Sprintf("%%_topdir %s/build\n%%_dbpath %s/db\n", home, home)
	spec := "Name: golive-demo\nVersion: 1.18.0\nRelease: 3.el9\nEpoch: 1\nSummary: test\nLicense: MIT\nBuildArch: noarch\n%description\ntest\n%files\n"
	if err := os.WriteFile(filepath.Join(home, ".rpmmacros"), []byte(macros), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "demo.spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	// PATH: everything of /usr/bin and /bin but dpkg.
	bin := t.TempDir()
	for _, d := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "dpkg") {
				os.Symlink(filepath.Join(d, e.Name()), filepath.Join(bin, e.Name()))
			}
		}
	}
	env := []string{"HOME=" + home, "PATH=" + bin}
	sh := func(script string) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env, cmd.Dir = env, home
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	sh("rpmbuild -bb demo.spec >/dev/null 2>&1 && rpm --initdb && rpm -i --nodeps build/RPMS/noarch/*.rpm 2>/dev/null")
	cases := []factCase{
		{fact: &rollout.Fact{Kind: "package", Name: "golive-demo", Version: ">= 1:1.18"}, ok: true, found: "1:1.18.0-3.el9"},
		{fact: &rollout.Fact{Kind: "package", Name: "golive-demo", Version: ">= 1:1.22"}, found: "1:1.18.0-3.el9"},
		{fact: &rollout.Fact{Kind: "package", Name: "golive-demo", Version: "= 1:1.18.0"}, ok: true, found: "1:1.18.0-3.el9"},
		{fact: &rollout.Fact{Kind: "package", Name: "golive-demo", Version: "< 1:1.18.0-10.el9"}, ok: true, found: "1:1.18.0-3.el9"},
		{fact: &rollout.Fact{Kind: "package", Name: "golive-absent"}, found: "not installed"},
	}
	facts := make([]*rollout.Fact, len(cases))
	for i, c := range cases {
		facts[i] = c.fact
	}
	nonce := check.Nonce()
	cmd := exec.Command("/bin/sh", "-c", check.FactScript(nonce, facts, "", false))
	cmd.Env = env
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	g := check.ParseFacts(string(raw), nonce, len(facts))
	if g.Facts[0]["mgr"] != "rpm" {
		t.Fatalf("manager: %v", g.Facts[0])
	}
	judgeAll(t, cases, g)
}

// TestJudgeHostileFindings: what a target reports is shown only when it
// is what it should be; anything else is unknown, never echoed raw.
func TestJudgeHostileFindings(t *testing.T) {
	for _, c := range []struct {
		fact *rollout.Fact
		obs  map[string]string
	}{
		{&rollout.Fact{Kind: "command", Name: "x"}, map[string]string{"found": "yes", "path": "/bin/\x1b]0;pwned\x07x"}},
		{&rollout.Fact{Kind: "command", Name: "x", Version: ">= 1"}, map[string]string{"found": "yes", "output": "x \x1b[31m"}},
		{&rollout.Fact{Kind: "service", Name: "x", State: "running"}, map[string]string{"via": "systemd", "active": "active\x1b[2J"}},
		{&rollout.Fact{Kind: "disk", Path: "/", Bytes: 1}, map[string]string{"avail_kib": "12\x1b"}},
		{&rollout.Fact{Kind: "user", Name: "x"}, map[string]string{"exists": "yes", "uid": "0;rm"}},
		{&rollout.Fact{Kind: "file", Path: "/x", Exists: true, Owner: "root", Mode: "0640"}, map[string]string{"exists": "yes", "owner": "root\x1b[0m", "mode": "99"}},
		{&rollout.Fact{Kind: "port", Port: 80, State: "free"}, map[string]string{"listening": "maybe"}},
	} {
		r := check.JudgeFact(c.fact, c.obs, "")
		if strings.ContainsAny(r.Detail, "\x1b\x07") {
			t.Errorf("%s: control characters reach the detail: %q", c.fact.Kind, r.Detail)
		}
		if c.fact.Kind != "command" || c.fact.Version != "" {
			if r.OK || !r.Unknown {
				t.Errorf("%s %v: %+v, want unknown", c.fact.Kind, c.obs, r)
			}
		}
	}
}
