package fleet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// SSHD is the OpenSSH server every host runs (Debian's openssh-server).
const SSHD = "/usr/sbin/sshd"

// MaxHosts is the largest fleet: a Linux bridge has at most 1,023 ports
// (BR_MAX_PORTS 1024, port 0 unused), one per host. Fleets of more than
// 253 hosts get a subnet wider than a /24 (see Options.Subnet).
const MaxHosts = 1023

// Options say what fleet to start. The zero value (but for N) is fine.
type Options struct {
	// N is the number of hosts, 1 to MaxHosts (fewer when Subnet is
	// too small).
	N int
	// Prefix names everything the fleet creates (1 to 6 characters of
	// [a-z0-9]); empty means 4 random characters. Two live fleets never
	// share a prefix.
	Prefix string
	// Subnet is the IPv4 subnet of the bridge, /16 to /29; the controller
	// gets its first address and the hosts the next ones. Empty means a
	// random subnet of 10.213.0.0/16 that no route on this machine
	// overlaps: a /24 for up to 253 hosts, else the smallest that fits
	// (a /22 for 1,000).
	Subnet string
	// Dir is where the fleet's directory (keys, configs, each host's /srv
	// and home) is created; empty means os.TempDir(). Close removes the
	// fleet's directory, not Dir.
	Dir string
}

// Host is one host of a fleet.
type Host struct {
	Name    string // h0, h1, ...: also the host's hostname
	Address string // IPv4 address on the fleet's bridge
	Port    int    // sshd's port: 22
	SrvDir  string // the host's /srv as seen from the controller
	HomeDir string // the host's /root (root's empty home) as seen from the controller
	NetNS   string // network namespace name (ip netns)
	Veth    string // root-namespace end of the host's link (LinkDown/LinkUp)
	PID     int    // sshd's process id (its namespaces are the host's)
}

// Fleet is a running set of hosts. Close it.
type Fleet struct {
	Hosts      []Host
	User       string // root
	KeyFile    string // private ed25519 key accepted by every host
	KnownHosts string // known_hosts file with every host's key
	Dir        string // the fleet's directory, removed by Close

	Prefix     string // names: glf-PREFIX-br, glf-PREFIX-vI, glf-PREFIX-hI
	Subnet     string // e.g. 10.213.7.0/24
	Controller string // the controller's address on the bridge (first of Subnet)
	Bridge     string // the bridge's name in the root namespace

	procs []*proc // one per host, nil until started

	closeOnce sync.Once
	closeErr  error
}

// proc is one host's sshd process as started by Start.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returned
	log  *os.File
}

// Start brings up a fleet of o.N hosts and returns when every sshd accepts
// connections. ctx bounds the start only; the hosts run until Close. When
// ctx has no deadline, Start gives up after a minute. On error everything
// made so far is torn down.
func Start(ctx context.Context, o Options) (*Fleet, error) {
	if o.N < 1 || o.N > MaxHosts {
		return nil, fmt.Errorf("fleet: %d hosts: want 1 to %d", o.N, MaxHosts)
	}
	if o.Prefix != "" && !validPrefix(o.Prefix) {
		return nil, fmt.Errorf("fleet: prefix %q: want 1 to 6 characters of [a-z0-9]", o.Prefix)
	}
	if o.Prefix != "" && len(vethName(o.Prefix, o.N-1)) > maxIfName {
		return nil, fmt.Errorf("fleet: prefix %q: too long for %d hosts (interface %s has more than %d bytes; use at most %d characters)",
			o.Prefix, o.N, vethName(o.Prefix, o.N-1), maxIfName, len(o.Prefix)-(len(vethName(o.Prefix, o.N-1))-maxIfName))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	// sshd's privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}

	unlock, err := lock()
	if err != nil {
		return nil, err
	}
	f, err := reserve(ctx, o)
	if err != nil {
		unlock()
		return nil, err
	}
	// From here the state file exists: any failure tears down.
	err = raiseNeighLimits(o.N)
	if err == nil {
		err = f.createNetwork(ctx)
	}
	unlock()
	if err == nil {
		err = f.configure(ctx)
	}
	if err == nil {
		err = f.startSSHDs(ctx)
	}
	if err != nil {
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return f, nil
}

// reserve picks the prefix and subnet, makes the fleet's directory and
// writes the state file. The caller holds the lock.
func reserve(ctx context.Context, o Options) (*Fleet, error) {
	prefix := o.Prefix
	if prefix == "" {
		for range 100 {
			p := randomPrefix()
			if !prefixInUse(p) {
				prefix = p
				break
			}
		}
		if prefix == "" {
			return nil, errors.New("fleet: no free prefix")
		}
	} else if prefixInUse(prefix) {
		return nil, fmt.Errorf("fleet: prefix %q is in use (see %s and ip netns list)", prefix, stateDir)
	}

	used, err := usedRoutes(ctx)
	if err != nil {
		return nil, err
	}
	var subnet netip.Prefix
	if o.Subnet != "" {
		subnet, err = parseSubnet(o.Subnet, o.N)
		if err != nil {
			return nil, err
		}
		if r, ok := overlaps(subnet, used); ok {
			return nil, fmt.Errorf("fleet: subnet %s overlaps route %s", subnet, r)
		}
	} else {
		subnet, err = randomSubnet(used, o.N)
		if err != nil {
			return nil, err
		}
	}

	parent := o.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "golive-fleet-"+prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	st := state{
		Prefix:  prefix,
		N:       o.N,
		Subnet:  subnet.String(),
		Dir:     dir,
		Created: time.Now(),
		Owner:   self(),
	}
	if err := writeState(st); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	f := &Fleet{
		User:       "root",
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		Dir:        dir,
		Prefix:     prefix,
		Subnet:     subnet.String(),
		Controller: nthAddr(subnet, 1).String(),
		Bridge:     bridgeName(prefix),
		procs:      make([]*proc, o.N),
	}
	for i := range o.N {
		hd := f.hostDir(i)
		f.Hosts = append(f.Hosts, Host{
			Name:    hostName(i),
			Address: nthAddr(subnet, 2+i).String(),
			Port:    22,
			SrvDir:  filepath.Join(hd, "srv"),
			HomeDir: filepath.Join(hd, "home"),
			NetNS:   netnsName(prefix, i),
			Veth:    vethName(prefix, i),
		})
	}
	return f, nil
}

func (f *Fleet) hostDir(i int) string { return filepath.Join(f.Dir, "hosts", hostName(i)) }

// createNetwork makes the namespaces, the bridge and the veths in one ip
// batch. The hosts' ends are configured inside their namespaces by
// startSSHDs.
func (f *Fleet) createNetwork(ctx context.Context) error {
	var b strings.Builder
	bits := netip.MustParsePrefix(f.Subnet).Bits()
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "netns add %s\n", h.NetNS)
	}
	fmt.Fprintf(&b, "link add %s type bridge\n", f.Bridge)
	fmt.Fprintf(&b, "address add %s/%d dev %s\n", f.Controller, bits, f.Bridge)
	fmt.Fprintf(&b, "link set %s up\n", f.Bridge)
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "link add %s type veth peer name eth0 netns %s\n", h.Veth, h.NetNS)
		fmt.Fprintf(&b, "link set %s master %s up\n", h.Veth, f.Bridge)
	}
	if err := ipBatch(ctx, b.String(), false); err != nil {
		return fmt.Errorf("fleet %s: network: %w", f.Prefix, err)
	}
	return nil
}

// configure generates the keys and writes the sshd configs,
// authorized_keys and known_hosts.
func (f *Fleet) configure(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	g.Go(func() error { return keygen(gctx, f.KeyFile, "golive-fleet-"+f.Prefix) })
	for i := range f.Hosts {
		hd := f.hostDir(i)
		for _, d := range []string{f.Hosts[i].SrvDir, f.Hosts[i].HomeDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("fleet: %w", err)
			}
		}
		if err := os.Chmod(f.Hosts[i].HomeDir, 0o700); err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
		g.Go(func() error {
			return keygen(gctx, filepath.Join(hd, "ssh_host_ed25519_key"), f.Hosts[i].Name)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	pub, err := os.ReadFile(f.KeyFile + ".pub")
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	authorized := filepath.Join(f.Dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o644); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	sftp := "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(sftp); err != nil {
		sftp = "internal-sftp"
	}
	penalties := sshdHasPerSourcePenalties(ctx)
	var known bytes.Buffer
	for i, h := range f.Hosts {
		hd := f.hostDir(i)
		hostPub, err := os.ReadFile(filepath.Join(hd, "ssh_host_ed25519_key.pub"))
		if err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
		fields := strings.Fields(string(hostPub))
		if len(fields) < 2 {
			return fmt.Errorf("fleet %s: %s: bad host key %q", f.Prefix, h.Name, hostPub)
		}
		fmt.Fprintf(&known, "%s %s %s\n", h.Address, fields[0], fields[1])
		if err := os.WriteFile(filepath.Join(hd, "sshd_config"), []byte(sshdConfig(h, hd, authorized, sftp, penalties)), 0o644); err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
	}
	if err := os.WriteFile(f.KnownHosts, known.Bytes(), 0o644); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

func sshdConfig(h Host, hostDir, authorized, sftp string, penalties bool) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# golive fleet host %s (generated)", h.Name)
	line("Port %d", h.Port)
	line("ListenAddress %s:%d", h.Address, h.Port)
	line("HostKey %s", filepath.Join(hostDir, "ssh_host_ed25519_key"))
	line("PidFile %s", filepath.Join(hostDir, "sshd.pid"))
	line("AuthorizedKeysFile %s", authorized)
	line("StrictModes no") // t.TempDir lives under world-writable /tmp
	line("PermitRootLogin prohibit-password")
	line("PubkeyAuthentication yes")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("UsePAM no")
	line("UseDNS no")
	line("MaxSessions 100")
	line("MaxStartups 200")
	line("PrintMotd no")
	line("PrintLastLog no")
	line("X11Forwarding no")
	line("AllowTcpForwarding yes")
	line("LogLevel INFO")
	if penalties {
		line("PerSourcePenalties no")
	}
	line("Subsystem sftp %s", sftp)
	return b.String()
}

// startSSHDs starts every host's sshd in the host's network namespace and
// in new mount and UTS namespaces, then waits until each one answers with
// its SSH banner.
func (f *Fleet) startSSHDs(ctx context.Context) error {
	bits := netip.MustParsePrefix(f.Subnet).Bits()
	for i, h := range f.Hosts {
		hd := f.hostDir(i)
		script := fmt.Sprintf(`set -e
ip -batch - <<EOF
link set lo up
address add %s/%d dev eth0
link set eth0 up
EOF
echo %s > /proc/sys/kernel/hostname
mount --bind %s /srv
mount --bind %s /root
exec %s -D -e -f %s
`, h.Address, bits, h.Name, shellQuote(h.SrvDir), shellQuote(h.HomeDir), SSHD, shellQuote(filepath.Join(hd, "sshd_config")))
		logf, err := os.OpenFile(filepath.Join(hd, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
		// ip netns exec and unshare exec (they do not fork), so the
		// process started here ends up being sshd itself. The mount
		// namespace is a slave, not private: the host's bind mounts stay
		// in it, but when another fleet deletes a namespace (unmounts
		// /run/netns/NAME) the unmount reaches this copy too; a private
		// copy would keep that namespace and its veth alive until this
		// host's sshd dies.
		cmd := exec.Command("ip", "netns", "exec", h.NetNS,
			"unshare", "--mount", "--uts", "--propagation", "slave",
			"sh", "-c", script)
		cmd.Dir = "/"
		cmd.Stdout = logf
		cmd.Stderr = logf
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C"}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("fleet %s: %s: start sshd: %w", f.Prefix, h.Name, err)
		}
		p := &proc{cmd: cmd, done: make(chan struct{}), log: logf}
		go func() {
			_ = cmd.Wait()
			close(p.done)
		}()
		f.procs[i] = p
		f.Hosts[i].PID = cmd.Process.Pid
	}

	g, gctx := errgroup.WithContext(ctx)
	for i := range f.Hosts {
		g.Go(func() error { return f.waitReady(gctx, i) })
	}
	return g.Wait()
}

// waitReady waits for host i's sshd to write its pid file (it does so
// after it listens) and to answer with an SSH banner on its address.
func (f *Fleet) waitReady(ctx context.Context, i int) error {
	h := f.Hosts[i]
	p := f.procs[i]
	pidFile := filepath.Join(f.hostDir(i), "sshd.pid")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("fleet %s: %s: sshd exited: %v: %s", f.Prefix, h.Name, p.cmd.ProcessState, tail(filepath.Join(f.hostDir(i), "sshd.log")))
		case <-ctx.Done():
			return fmt.Errorf("fleet %s: %s: sshd not ready (last: %v): %w", f.Prefix, h.Name, lastErr, context.Cause(ctx))
		case <-tick.C:
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			lastErr = err
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			lastErr = fmt.Errorf("pid file: %w", err)
			continue
		}
		if err := banner(ctx, net.JoinHostPort(h.Address, strconv.Itoa(h.Port))); err != nil {
			lastErr = err
			continue
		}
		f.Hosts[i].PID = pid
		return nil
	}
}

// banner connects to addr and reads the SSH identification line.
func banner(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("banner %q", line)
	}
	return nil
}

// Close kills every process inside the fleet's network namespaces (its
// sshds and their sessions, nothing else), removes the namespaces, veths
// and bridge, the fleet's directory and its state file. It is idempotent:
// later calls return the first call's result.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := teardown(ctx, f.Prefix, len(f.Hosts), f.Dir, func() {
			// Reap the processes Start started before removing the
			// directory their logs live in.
			for _, p := range f.procs {
				if p == nil {
					continue
				}
				select {
				case <-p.done:
				case <-ctx.Done():
				}
				p.log.Close()
			}
		})
		if err != nil {
			f.closeErr = fmt.Errorf("fleet %s: close: %w", f.Prefix, err)
		}
	})
	return f.closeErr
}

// LinkDown cuts host i off the bridge (its veth goes down): connections to
// it time out until LinkUp.
func (f *Fleet) LinkDown(ctx context.Context, i int) error { return f.setLink(ctx, i, "down") }

// LinkUp restores host i's link after LinkDown.
func (f *Fleet) LinkUp(ctx context.Context, i int) error { return f.setLink(ctx, i, "up") }

func (f *Fleet) setLink(ctx context.Context, i int, state string) error {
	if i < 0 || i >= len(f.Hosts) {
		return fmt.Errorf("fleet %s: no host %d", f.Prefix, i)
	}
	out, err := exec.CommandContext(ctx, "ip", "link", "set", f.Hosts[i].Veth, state).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fleet %s: %s: link %s: %w: %s", f.Prefix, f.Hosts[i].Name, state, err, bytes.TrimSpace(out))
	}
	return nil
}

// Exec runs script with sh -c as root inside host i's namespaces (network,
// mount and UTS: it sees the host's /srv and empty /root) and returns its
// standard output. A failure's error carries the standard error.
func (f *Fleet) Exec(ctx context.Context, i int, script string) (string, error) {
	if i < 0 || i >= len(f.Hosts) {
		return "", fmt.Errorf("fleet %s: no host %d", f.Prefix, i)
	}
	h := f.Hosts[i]
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(h.PID), "-m", "-n", "-u", "--", "sh", "-c", script)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("fleet %s: %s: exec: %w: %s", f.Prefix, h.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// SSHArgs are the OpenSSH client arguments that log in to host i as root
// with the fleet's key and known_hosts only (no user config, no agent):
// append a command, e.g. exec.Command("ssh", append(f.SSHArgs(0), "true")...).
func (f *Fleet) SSHArgs(i int) []string {
	h := f.Hosts[i]
	return []string{
		"-F", "/dev/null",
		"-i", f.KeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + f.KnownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=5",
		"-o", "LogLevel=ERROR",
		"-p", strconv.Itoa(h.Port),
		f.User + "@" + h.Address,
	}
}

// SSHCommand is the OpenSSH client command that runs script on host i.
func (f *Fleet) SSHCommand(ctx context.Context, i int, script string) *exec.Cmd {
	return exec.CommandContext(ctx, "ssh", append(f.SSHArgs(i), "--", script)...)
}

// keygen writes an ed25519 key pair without passphrase at path and path.pub.
func keygen(ctx context.Context, path, comment string) error {
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fleet: ssh-keygen %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// sshdHasPerSourcePenalties reports whether sshd is OpenSSH 9.8 or later,
// whose per-source penalties could lock the controller out of a host
// after a fault test; older versions reject the option.
func sshdHasPerSourcePenalties(ctx context.Context) bool {
	out, _ := exec.CommandContext(ctx, SSHD, "-V").CombinedOutput()
	s := string(out)
	i := strings.Index(s, "OpenSSH_")
	if i < 0 {
		return false
	}
	s = s[i+len("OpenSSH_"):]
	var major, minor int
	if _, err := fmt.Sscanf(s, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 9 || major == 9 && minor >= 8
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	b = bytes.TrimSpace(b)
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return string(b)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
