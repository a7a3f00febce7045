package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every test has its own fleet h0..h4; the plan (testdata/ssh.yaml) rolls
// out in batches [h0] [h1 h2] [h3 h4] with max_failed 0.

// It runs first (by its place in this file): it is the slowest test, as
// the cut is noticed only after three unanswered ssh keepalives (15s each).
// A host whose link is cut while one of its steps runs: it fails, the run
// fails, the other hosts are backed out and the cut host needs attention
// (exit 4). Once the link is back, `golive backout last` finishes, and
// returns only once every host serves the previous release again: with
// the link cut during restart, h1's server was stopped and its backout
// starts 1.0 in the background, which golive waits for.
func TestLinkCutMidRun(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"switch", "restart"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			linkCutMidStep(t, step)
		})
	}
}

func linkCutMidStep(t *testing.T, step string) {
	w := newWorld(t)
	w.build("1.0", "1.1")
	w.release("1.0")

	const cut = 1 // h1, in batch 2 with h2
	w.arm(cut, step, 60)
	// Short keepalives and connect timeouts: the cut is noticed in seconds.
	p := w.startGolive("run", "-r", "1.1", "--ssh-keepalive", "1s", "--ssh-connect-timeout", "2s")
	pid := w.waitMarker(p, cut, step)
	ctx := context.Background()
	if err := w.f.LinkDown(ctx, cut); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	linkUp := func() {
		if err := w.f.LinkUp(ctx, cut); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(linkUp) // harmless when already up

	r := p.Wait()
	t.Logf("the run ended %v after the link was cut\n%s", time.Since(down).Round(time.Millisecond), r)
	t.Logf("%s", w.logsOf("last"))
	if r.Code != 4 {
		t.Errorf("run with h1 cut off: exit %d, want 4 (backout incomplete: h1 needs attention)\n%s", r.Code, r)
	}
	if !strings.Contains(r.Stdout, "NEEDS ATTENTION: h1") {
		t.Errorf("the run's output does not say NEEDS ATTENTION for h1\n%s", r)
	}
	s := w.assertState("last", "backout_failed")
	named := false
	for _, a := range s.NeedsAttention {
		if strings.HasPrefix(a, "h1:") {
			named = true
		} else {
			t.Errorf("status names a host that is not cut off as needing attention: %q", a)
		}
	}
	if !named {
		t.Errorf("status --json needs_attention does not name h1: %v", s.NeedsAttention)
	}
	// The hosts that could be reached are back on 1.0; h1 is cut off.
	for i, h := range w.f.Hosts {
		if i == cut {
			continue
		}
		w.assertHostServing(i, "1.0")
		if got, _ := os.Readlink(filepath.Join(h.SrvDir, "demo", "current")); got != "releases/1.0" {
			t.Errorf("%s: current -> %q after the backout, want releases/1.0", h.Name, got)
		}
	}

	// The first backout verified every host it backed out (those the run
	// touched), but not h1.
	for i, h := range w.f.Hosts {
		_, touched := s.Hosts[h.Name]
		got := s.BackoutVerification[h.Name]
		switch {
		case i == cut || !touched:
			if got != "" {
				t.Errorf("status: %s (not backed out) has a backout verdict %q", h.Name, got)
			}
		case got != "backed out, verified healthy at 1.0":
			t.Errorf("status: %s's backout is %q, want verified healthy at 1.0", h.Name, got)
		}
	}

	linkUp()
	if w.alive(cut, pid) {
		t.Logf("note: the %s step golive started on h1 (pid %d) still runs there after the run ended: golive could not stop it while the link was down", step, pid)
	}
	b := w.golive("backout", "last", "--ssh-connect-timeout", "5s")
	t.Logf("golive backout last after the link came back: exit %d", b.Code)
	if w.alive(cut, pid) {
		t.Errorf("the %s step golive started on h1 (pid %d) still runs after golive backout: the backout must stop it first", step, pid)
	}
	// `golive backout` did what was asked: exit 0 once every host is backed
	// out cleanly (and verified healthy), 4 while hosts need attention.
	if b.Code != 0 {
		t.Errorf("backout after the link came back: exit %d, want 0 (backed out cleanly)\n%s", b.Code, b)
	}
	// h1's backout restarts 1.0 in the background: golive returns only once
	// 1.0 answers its health check there, so every host serves it now.
	w.assertServing("1.0")
	s = w.assertState("last", "backed_out")
	w.assertNoRelease("1.1")
	if got := s.BackoutVerification["h1"]; got != "backed out, verified healthy at 1.0" {
		t.Errorf("status after the second backout: h1's backout is %q, want verified healthy at 1.0", got)
	}
	if !regexp.MustCompile(`(?m)^\S.* h1 +serves the new version +check passed .*release 1\.0, after the backout`).MatchString(b.Stdout) {
		t.Errorf("the second backout did not check h1's restored release\n%s", b)
	}
	if regexp.MustCompile(` h[02-4] +serves the new version`).MatchString(b.Stdout) {
		t.Errorf("the second backout checked again hosts verified by the first\n%s", b)
	}
}

// Release 1.0, then 1.1, over SSH: both exit 0, every host serves 1.1 on
// its own address, the run succeeded and its summary lists every host.
func TestReleaseOverSSH(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")

	w.release("1.0")
	r := w.release("1.1")

	s := w.assertState("last", "succeeded")
	if s.Release != "1.1" || s.Previous != "1.0" {
		t.Errorf("status last: release %q previous %q, want 1.1 after 1.0", s.Release, s.Previous)
	}
	for _, h := range w.f.Hosts {
		if got := s.Hosts[h.Name]; got != "finished" && got != "succeeded" {
			t.Errorf("status last --json: host %s is %q, want it finished", h.Name, got)
		}
	}
	rows := summary(r.Stdout)
	for _, h := range w.f.Hosts {
		if got, ok := rows[h.Name]; !ok {
			t.Errorf("the end-of-run summary does not list %s\n%s", h.Name, r)
		} else if got != "1.1" {
			t.Errorf("the end-of-run summary says %s has %q live, want 1.1", h.Name, got)
		}
	}
	// 1.0 stays on the hosts beside 1.1, ready for a backout.
	for _, h := range w.f.Hosts {
		if _, err := os.Stat(filepath.Join(h.SrvDir, "demo", "releases", "1.0", "demo")); err != nil {
			t.Errorf("%s: release 1.0 is gone after 1.1: %v", h.Name, err)
		}
	}
}

// A release whose restart fails on h3 (in the last batch, after it started
// the new server): exit 1, backed_out, and every host serves 1.0 again.
func TestFailedHostBacksOutEveryHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")
	w.release("1.0")

	w.failAt(3, "restart")
	r := w.mustExit(1, "run", "-r", "1.1")
	s := w.assertState("last", "backed_out")
	if len(s.NeedsAttention) != 0 {
		t.Errorf("a clean backout needs attention: %v", s.NeedsAttention)
	}
	if !strings.Contains(r.Output(), "h3") {
		t.Errorf("the failed run's output does not name the failed host h3\n%s", r)
	}
	w.assertServing("1.0")
	w.assertNoRelease("1.1")
	rows := summary(r.Stdout)
	for _, h := range w.f.Hosts {
		if got := rows[h.Name]; got != "1.0" {
			t.Errorf("the end-of-run summary says %s has %q live, want 1.0\n%s", h.Name, got, r)
		}
		if got := s.BackoutVerification[h.Name]; got != "backed out, verified healthy at 1.0" {
			t.Errorf("status: %s's backout is %q, want verified healthy at 1.0", h.Name, got)
		}
	}
}

// A first release that fails is backed out without verification (nothing
// was live before). Then, after 1.0 went live, release 1.0's files are
// removed by hand on h2 and 1.1 fails on h3: h2's backout exits 0 but 1.0
// cannot start there, so golive exits 4 naming h2 and its health check;
// every other host serves 1.0 again when golive returns.
func TestBackoutVerifiedOverSSH(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")

	w.failAt(3, "restart")
	r := w.mustExit(1, "run", "-r", "1.0")
	s := w.assertState("last", "backed_out")
	if !strings.Contains(r.Stdout, "backouts not verified: first release") {
		t.Errorf("the first release's backout does not say it is not verified\n%s", r)
	}
	for _, h := range w.f.Hosts {
		if got := s.BackoutVerification[h.Name]; !strings.HasPrefix(got, "backed out, not verified: first release") {
			t.Errorf("status: %s's backout is %q, want not verified (first release)", h.Name, got)
		}
	}
	if strings.Contains(r.Stdout, "after the backout") {
		t.Errorf("a health check ran after a first release's backout\n%s", r)
	}

	if err := os.Remove(filepath.Join(w.sync(3), "fail-restart")); err != nil {
		t.Fatal(err)
	}
	w.release("1.0")
	const gone = 2
	if err := os.RemoveAll(filepath.Join(w.f.Hosts[gone].SrvDir, "demo", "releases", "1.0")); err != nil {
		t.Fatal(err)
	}
	w.failAt(3, "restart")
	r = w.mustExit(4, "run", "-r", "1.1")
	want := `NEEDS ATTENTION: h2: backed out in stage web, but release 1.0 is not healthy on it: check "serves the new version" on h2`
	if !strings.Contains(r.Stdout, want) {
		t.Errorf("the run's output lacks %q\n%s", want, r)
	}
	s = w.assertState("last", "backout_failed")
	if len(s.NeedsAttention) != 1 || !strings.HasPrefix(s.NeedsAttention[0], "h2: ") {
		t.Errorf("status needs_attention = %q, want h2 only", s.NeedsAttention)
	}
	for i, h := range w.f.Hosts {
		if i == gone {
			if _, err := w.health(i); err == nil {
				t.Errorf("%s answers /health although 1.0 is gone from it", h.Name)
			}
			continue
		}
		w.assertHostServing(i, "1.0")
		if got := s.BackoutVerification[h.Name]; got != "backed out, verified healthy at 1.0" {
			t.Errorf("status: %s's backout is %q, want verified healthy at 1.0", h.Name, got)
		}
	}
	if got := s.BackoutVerification["h2"]; !strings.HasPrefix(got, "backed out, NOT healthy at 1.0") {
		t.Errorf("status: h2's backout is %q, want NOT healthy at 1.0", got)
	}
	if s.Lock == nil {
		t.Errorf("the environment lock was released although h2 needs attention")
	}
}

// kill -9 of the controller during a step of h2 (batch 2); `golive resume
// last` finishes the release over SSH.
func TestKillControllerThenResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")
	w.release("1.0")

	w.arm(2, "unpack", 20)
	p := w.startGolive("run", "-r", "1.1")
	w.waitMarker(p, 2, "unpack")
	p.Kill()

	s := w.status("last")
	if s.State != "running" || !s.ControllerGone {
		t.Errorf("after kill -9: state %q controller_gone %v, want running and gone", s.State, s.ControllerGone)
	}
	r := w.mustExit(0, "resume", "last")
	w.assertState("last", "succeeded")
	w.assertServing("1.1")
	rows := summary(r.Stdout)
	for _, h := range w.f.Hosts {
		if got := rows[h.Name]; got != "1.1" {
			t.Errorf("the resume's summary says %s has %q live, want 1.1\n%s", h.Name, got, r)
		}
	}
}

// A known_hosts without the fleet's keys: golive refuses to talk to the
// hosts, naming the host and the fingerprint of the key it was offered,
// and changes nothing.
func TestUnknownHostKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0")
	fps := w.hostKeyFingerprints()
	// The fleet's keys, but for other addresses (TEST-NET-1): none is
	// on record for a fleet host.
	b, err := os.ReadFile(w.f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	var other strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		other.WriteString("192.0.2." + string(rune('1'+i)) + " " + strings.Join(f[1:], " ") + "\n")
	}
	writeFile(t, w.known, []byte(other.String()))

	r := w.golive("run", "-r", "1.0")
	t.Logf("golive run with unknown host keys: exit %d\n%s", r.Code, r)
	if r.Code == 0 {
		t.Fatalf("run succeeded against hosts whose keys are unknown\n%s", r)
	}
	out := r.Output()
	h0 := w.f.Hosts[0]
	if !strings.Contains(out, h0.Name) || !strings.Contains(out, h0.Address) {
		t.Errorf("the output does not name the host (%s, %s)", h0.Name, h0.Address)
	}
	if fp := fps[h0.Address]; !strings.Contains(out, fp) {
		t.Errorf("the output does not give h0's key fingerprint %s", fp)
	}
	if !strings.Contains(out, "unknown") {
		t.Errorf("the output does not say the host key is unknown")
	}
	for i, h := range w.f.Hosts {
		if _, err := os.Stat(filepath.Join(h.SrvDir, "demo")); err == nil {
			t.Errorf("%s: /srv/demo exists: golive changed a host whose key it did not trust", h.Name)
		}
		if got, err := w.health(i); err == nil {
			t.Errorf("%s serves %q", h.Name, got)
		}
	}
	if r.Code != 3 {
		t.Errorf("exit %d, want a no-go (3): the preflight checks cannot reach the hosts, nothing was changed", r.Code)
	}

	// Without preflight checks, the first dial happens in the rollout.
	t.Run("no preflight", func(t *testing.T) {
		w := *w
		w.t = t
		plan, err := os.ReadFile(w.plan)
		if err != nil {
			t.Fatal(err)
		}
		i, j := strings.Index(string(plan), "\npreflight:\n"), strings.Index(string(plan), "\nstages:\n")
		if i < 0 || j < i {
			t.Fatal("testdata/ssh.yaml: no preflight section before stages")
		}
		writeFile(t, w.plan, append(plan[:i+1:i+1], plan[j+1:]...))
		r := w.golive("run", "-r", "1.0")
		t.Logf("golive run with unknown host keys and no preflight: exit %d\n%s", r.Code, r)
		out := r.Output()
		if !strings.Contains(out, "h0") || !strings.Contains(out, fps[h0.Address]) {
			t.Errorf("the output does not name h0 and its key's fingerprint %s", fps[h0.Address])
		}
		// The review before the run dials every target to check it is
		// reachable: an untrusted key is a no-go (3) before any run starts.
		if r.Code != 3 {
			t.Errorf("exit %d, want a no-go (3): the review cannot reach the hosts, nothing was changed", r.Code)
		}
		for _, h := range w.f.Hosts {
			if _, err := os.Stat(filepath.Join(h.SrvDir, "demo")); err == nil {
				t.Errorf("%s: /srv/demo exists: golive changed a host whose key it did not trust", h.Name)
			}
		}
		t.Logf("%s", w.logsOf("last"))
	})
}
