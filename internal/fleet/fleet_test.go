package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func requireSSHClient(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("fleet: no ssh client (openssh-client); " + hint)
	}
}

func ssh(t *testing.T, f *Fleet, i int, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := f.SSHCommand(ctx, i, script).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s %q: %v: %s", f.Hosts[i].Name, script, err, out)
	}
	return string(out)
}

func TestFleet(t *testing.T) {
	t.Parallel()
	requireSSHClient(t)
	start := time.Now()
	f := Require(t, 3)
	t.Logf("Start(3) took %v", time.Since(start))

	t.Run("ssh", func(t *testing.T) {
		for i, h := range f.Hosts {
			// The command the issue asks for, spelled out.
			cmd := exec.CommandContext(t.Context(), "ssh", "-i", f.KeyFile,
				"-o", "UserKnownHostsFile="+f.KnownHosts, "-o", "StrictHostKeyChecking=yes",
				"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
				"root@"+h.Address, "echo hi; hostname; ls /srv")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v: %s", h.Name, err, out)
			}
			if want := "hi\n" + h.Name + "\n"; string(out) != want {
				t.Errorf("%s: got %q, want %q", h.Name, out, want)
			}
			if i == 0 && h.Port != 22 {
				t.Errorf("port %d", h.Port)
			}
		}
	})

	t.Run("own srv", func(t *testing.T) {
		ssh(t, f, 1, "echo from-h1 > /srv/marker")
		b, err := os.ReadFile(filepath.Join(f.Hosts[1].SrvDir, "marker"))
		if err != nil || string(b) != "from-h1\n" {
			t.Fatalf("h1's SrvDir: %q, %v", b, err)
		}
		for _, i := range []int{0, 2} {
			if _, err := os.Stat(filepath.Join(f.Hosts[i].SrvDir, "marker")); err == nil {
				t.Errorf("marker appeared in %s's SrvDir", f.Hosts[i].Name)
			}
			if out := ssh(t, f, i, "ls -A /srv"); out != "" {
				t.Errorf("%s's /srv: %q", f.Hosts[i].Name, out)
			}
		}
		if _, err := os.Stat("/srv/marker"); err == nil {
			t.Errorf("marker appeared in the controller's /srv")
		}
		out, err := f.Exec(t.Context(), 1, "cat /srv/marker; hostname")
		if err != nil || out != "from-h1\nh1\n" {
			t.Errorf("Exec on h1: %q, %v", out, err)
		}
	})

	t.Run("empty home", func(t *testing.T) {
		for i := range f.Hosts {
			if out := ssh(t, f, i, "echo $HOME; ls -a ~"); out != "/root\n.\n..\n" {
				t.Errorf("%s: %q", f.Hosts[i].Name, out)
			}
		}
	})

	t.Run("sftp", func(t *testing.T) {
		if _, err := exec.LookPath("sftp"); err != nil {
			t.Skip("no sftp client")
		}
		src := filepath.Join(t.TempDir(), "up")
		if err := os.WriteFile(src, []byte("uploaded\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(f.SSHArgs(2)[:len(f.SSHArgs(2))-3], "-b", "-", f.User+"@"+f.Hosts[2].Address)
		cmd := exec.CommandContext(t.Context(), "sftp", args...)
		cmd.Stdin = strings.NewReader("put " + src + " /srv/up\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sftp: %v: %s", err, out)
		}
		if b, err := os.ReadFile(filepath.Join(f.Hosts[2].SrvDir, "up")); err != nil || string(b) != "uploaded\n" {
			t.Errorf("uploaded file: %q, %v", b, err)
		}
	})

	t.Run("link down and up", func(t *testing.T) {
		addr := net.JoinHostPort(f.Hosts[0].Address, "22")
		if err := f.LinkDown(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			t.Errorf("connected to %s with its link down", addr)
		} else {
			t.Logf("link down: dial: %v", err)
		}
		// The other hosts are unaffected.
		ssh(t, f, 1, "true")
		if err := f.LinkUp(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("link up: dial %s: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if out := ssh(t, f, 0, "echo back"); out != "back\n" {
			t.Errorf("after LinkUp: %q", out)
		}
	})

	t.Run("known_hosts", func(t *testing.T) {
		b, err := os.ReadFile(f.KnownHosts)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != len(f.Hosts) {
			t.Fatalf("%d lines for %d hosts", len(lines), len(f.Hosts))
		}
		for i, l := range lines {
			if fs := strings.Fields(l); len(fs) != 3 || fs[0] != f.Hosts[i].Address || fs[1] != "ssh-ed25519" {
				t.Errorf("line %d: %q", i, l)
			}
		}
	})
}

func startOrSkip(t testing.TB, o Options) *Fleet {
	t.Helper()
	if why := Unavailable(); why != "" {
		t.Skip("fleet: " + why)
	}
	f, err := Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClose(t *testing.T) {
	t.Parallel()
	requireSSHClient(t)
	f := startOrSkip(t, Options{N: 2, Dir: t.TempDir()})
	t.Cleanup(func() { _ = f.Close() })

	// A session that would outlive its sshd if Close killed only sshd.
	// The remote shell prints its pid, then becomes sleep.
	sessCtx, cancel := context.WithCancel(context.Background())
	sess := f.SSHCommand(sessCtx, 0, "echo $$; exec sleep 600")
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = sess.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("remote session: %v", err)
	}
	sleeper, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("remote session printed %q", line)
	}
	// The pid printed inside the host is a pid of this machine (no pid
	// namespace): check that it is inside host 0's network namespace.
	ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", sleeper))
	hostNS, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", f.Hosts[0].PID))
	if ns == "" || ns != hostNS {
		t.Fatalf("session pid %d in netns %q, sshd in %q", sleeper, ns, hostNS)
	}

	pids := []int{f.Hosts[0].PID, f.Hosts[1].PID, sleeper}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("pid %d not alive before Close", pid)
		}
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close(2 hosts) took %v", time.Since(start))
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Close", pid)
		}
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hosts {
		if strings.Contains(string(out), h.NetNS) {
			t.Errorf("namespace %s left: %s", h.NetNS, out)
		}
	}
	links := listLinks()
	for _, name := range append([]string{f.Bridge}, f.Hosts[0].Veth, f.Hosts[1].Veth) {
		if slices.Contains(links, name) {
			t.Errorf("interface %s left", name)
		}
	}
	if _, err := os.Stat(f.Dir); err == nil {
		t.Errorf("dir %s left", f.Dir)
	}
	if _, err := os.Stat(statePath(f.Prefix)); err == nil {
		t.Errorf("state file left")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCleanupStale(t *testing.T) {
	t.Parallel()
	f := startOrSkip(t, Options{N: 2, Dir: t.TempDir()})
	t.Cleanup(func() { _ = f.Close() })

	// Young and owned by a live process: kept.
	removed, err := CleanupStale(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(removed, f.Prefix) {
		t.Fatalf("removed a live fleet")
	}

	// Pretend the owner died an hour ago.
	b, err := os.ReadFile(statePath(f.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st.Owner.Start++ // a different process with the same pid
	st.Created = time.Now().Add(-time.Hour)
	if err := writeState(st); err != nil {
		t.Fatal(err)
	}
	removed, err = CleanupStale(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, f.Prefix) {
		t.Fatalf("removed %v, not %s", removed, f.Prefix)
	}
	if alive(f.Hosts[0].PID) || slices.Contains(listNetns(), f.Hosts[0].NetNS) || slices.Contains(listLinks(), f.Bridge) {
		t.Errorf("stale fleet not torn down")
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close after cleanup: %v", err)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subnet string
		n      int
		ok     bool
	}{
		{"10.213.7.0/24", 253, true},
		{"10.213.7.0/24", 254, false},
		{"10.213.4.0/22", 1000, true},
		{"10.213.0.0/16", MaxHosts, true},
		{"10.213.0.0/16", MaxHosts + 1, false},
		{"10.213.7.0/28", 13, true},
		{"10.213.7.0/28", 14, false},
		{"10.213.7.1/24", 1, false},
		{"fd00::/64", 1, false},
		{"10.213.0.0/30", 1, false},
		{"nonsense", 1, false},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.subnet, tc.n), func(t *testing.T) {
			_, err := parseSubnet(tc.subnet, tc.n)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	p := netip.MustParsePrefix("10.213.7.0/24")
	if got := nthAddr(p, 254).String(); got != "10.213.7.254" {
		t.Errorf("nthAddr: %s", got)
	}
	for n, bits := range map[int]int{1: 24, 253: 24, 254: 23, 509: 23, 510: 22, 1000: 22, 1021: 22, MaxHosts: 21} {
		if got := subnetBits(n); got != bits {
			t.Errorf("subnetBits(%d) = %d, want %d", n, got, bits)
		}
		p, err := randomSubnet(nil, n)
		if err != nil || p.Bits() != bits || p.Masked() != p {
			t.Errorf("randomSubnet(%d) = %s, %v", n, p, err)
		}
		if _, err := parseSubnet(p.String(), n); err != nil {
			t.Errorf("randomSubnet(%d) = %s: %v", n, p, err)
		}
	}
	// A random prefix has 4 characters; a 6-character one fits 1,000 hosts.
	for _, name := range []string{bridgeName("abcdef"), vethName("abcdef", 999), vethName("abcd", MaxHosts-1), netnsName("abcd", 0)} {
		if len(name) > 15 && !strings.Contains(name, "-h") {
			t.Errorf("interface name %q longer than 15", name)
		}
		if !ourName.MatchString(name) {
			t.Errorf("%q does not match our pattern", name)
		}
	}
	if ourName.MatchString("glf-abcd-x1") || ourName.MatchString("eth0") {
		t.Errorf("pattern too wide")
	}
	if _, err := Start(t.Context(), Options{N: 0}); err == nil {
		t.Errorf("Start with N=0 succeeded")
	}
	if _, err := Start(t.Context(), Options{N: MaxHosts + 1}); err == nil {
		t.Errorf("Start with N=%d succeeded", MaxHosts+1)
	}
	// glf-abcdef-v1000 has 16 bytes: refused before anything is made.
	if _, err := Start(t.Context(), Options{N: 1001, Prefix: "abcdef"}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Start with a 6-character prefix and 1001 hosts: %v", err)
	}
	if _, err := Start(t.Context(), Options{N: 1, Prefix: "Bad!"}); err == nil {
		t.Errorf("Start with a bad prefix succeeded")
	}
}

func BenchmarkStart(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			var closing time.Duration
			for b.Loop() {
				f := startOrSkip(b, Options{N: n, Dir: b.TempDir()})
				b.StopTimer()
				t0 := time.Now()
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				closing += time.Since(t0)
				b.StartTimer()
			}
			b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "close-ms/op")
		})
	}
}
