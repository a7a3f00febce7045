package fleet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxIfName is the longest interface name Linux takes (IFNAMSIZ-1).
const maxIfName = 15

// Names. Interface names have at most 15 bytes: glf-PPPPPP-v999 fits, and
// with a random (4-character) prefix glf-PPPP-v1022 does.
func bridgeName(prefix string) string       { return "glf-" + prefix + "-br" }
func vethName(prefix string, i int) string  { return "glf-" + prefix + "-v" + strconv.Itoa(i) }
func netnsName(prefix string, i int) string { return "glf-" + prefix + "-h" + strconv.Itoa(i) }
func hostName(i int) string                 { return "h" + strconv.Itoa(i) }

var (
	prefixRE = regexp.MustCompile(`^[a-z0-9]{1,6}$`)
	// ourName matches every name a fleet gives a namespace or interface;
	// group 1 is the prefix.
	ourName = regexp.MustCompile(`^glf-([a-z0-9]{1,6})-(?:br|v[0-9]+|h[0-9]+)$`)
)

func validPrefix(p string) bool { return prefixRE.MatchString(p) }

func randomPrefix() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// prefixInUse reports whether a state file, namespace or interface already
// carries prefix.
func prefixInUse(prefix string) bool {
	if _, err := os.Stat(statePath(prefix)); err == nil {
		return true
	}
	for _, n := range append(listNetns(), listLinks()...) {
		if m := ourName.FindStringSubmatch(n); m != nil && m[1] == prefix {
			return true
		}
	}
	return false
}

// parseSubnet parses an IPv4 subnet of /16 to /29 that has room for the
// controller and n hosts.
func parseSubnet(s string, n int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("fleet: subnet: %w", err)
	}
	if !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("fleet: subnet %s: want IPv4 /16 to /29", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("fleet: subnet %s: host bits set (want %s)", s, p.Masked())
	}
	// Network and broadcast addresses, the controller, then n hosts.
	if room := 1<<(32-p.Bits()) - 3; n > room || n > MaxHosts {
		return netip.Prefix{}, fmt.Errorf("fleet: subnet %s has room for %d hosts, not %d", s, min(room, MaxHosts), n)
	}
	return p, nil
}

// nthAddr is the n-th address of p (0 is the network address).
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) + uint32(n)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// subnetBits is the prefix length of the subnet randomSubnet gives n
// hosts: /24 up to 253 hosts (as always), else the longest prefix with
// room for the network, broadcast and controller addresses and n hosts.
func subnetBits(n int) int {
	bits := 24
	for bits > 16 && 1<<(32-bits)-3 < n {
		bits--
	}
	return bits
}

// randomSubnet picks a subnet of 10.213.0.0/16 with room for n hosts
// (subnetBits) that overlaps none of used.
func randomSubnet(used []netip.Prefix, n int) (netip.Prefix, error) {
	bits := subnetBits(n)
	b := make([]byte, 1)
	for range 200 {
		_, _ = rand.Read(b)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, b[0], 0}), bits).Masked()
		if _, ok := overlaps(p, used); !ok {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("fleet: no free subnet in 10.213.0.0/16")
}

func overlaps(p netip.Prefix, used []netip.Prefix) (netip.Prefix, bool) {
	for _, u := range used {
		if u.Bits() > 0 && u.Overlaps(p) {
			return u, true
		}
	}
	return netip.Prefix{}, false
}

// usedRoutes lists the IPv4 destinations of every route on this machine
// (all tables, root namespace) but the default routes.
func usedRoutes(ctx context.Context) ([]netip.Prefix, error) {
	out, err := exec.CommandContext(ctx, "ip", "-j", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("fleet: ip route: %w", err)
	}
	var routes []struct {
		Dst string `json:"dst"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return nil, fmt.Errorf("fleet: ip route: %w", err)
	}
	var used []netip.Prefix
	for _, r := range routes {
		if r.Dst == "default" || r.Dst == "" {
			continue
		}
		if !strings.Contains(r.Dst, "/") {
			r.Dst += "/32"
		}
		if p, err := netip.ParsePrefix(r.Dst); err == nil {
			used = append(used, p.Masked())
		}
	}
	return used, nil
}

// raiseNeighLimits raises the root namespace's IPv4 neighbour (ARP) table
// limits so that n more hosts fit: the controller holds one entry per host
// it talks to, and past gc_thresh3 (1,024 by default, shared with every
// other interface and fleet on the machine) the kernel drops entries
// ("neighbor table overflow") and hosts stop answering. It only raises.
func raiseNeighLimits(n int) error {
	for name, want := range map[string]int{"gc_thresh2": 2*n + 512, "gc_thresh3": 4*n + 1024} {
		p := "/proc/sys/net/ipv4/neigh/default/" + name
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
		if cur, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && cur >= want {
			continue
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(want)), 0o644); err != nil {
			return fmt.Errorf("fleet: raise %s: %w", name, err)
		}
	}
	return nil
}

// ipBatch runs ip commands, one a line. With force, ip goes on after a
// failed line (teardown of what may be half made); the error is returned
// all the same.
func ipBatch(ctx context.Context, cmds string, force bool) error {
	args := []string{"-batch", "-"}
	if force {
		args = append([]string{"-force"}, args...)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(cmds)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -batch: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// listNetns lists the named network namespaces (ip netns list).
func listNetns() []string {
	ents, _ := os.ReadDir("/run/netns")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// listLinks lists the interfaces of the root network namespace.
func listLinks() []string {
	ents, _ := os.ReadDir("/sys/class/net")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// netnsInode is the inode of a named network namespace; /proc/PID/ns/net
// of every process inside it links to "net:[INODE]".
func netnsInode(name string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// pidsIn lists the live (not zombie) processes inside the network
// namespaces with the given inodes.
func pidsIn(inodes map[uint64]bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink("/proc/" + e.Name() + "/ns/net")
		if err != nil {
			continue
		}
		ino, ok := strings.CutPrefix(link, "net:[")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		if err != nil || !inodes[n] || !alive(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// alive reports whether process pid exists and is not a zombie (killed
// processes here may stay zombies for a while).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			v = strings.TrimSpace(v)
			return !strings.HasPrefix(v, "Z") && !strings.HasPrefix(v, "X")
		}
	}
	return true
}

// killNetns SIGKILLs every process inside the named network namespaces
// until none is left (a dying sshd may fork once more).
func killNetns(ctx context.Context, names []string) error {
	inodes := map[uint64]bool{}
	for _, n := range names {
		if ino, ok := netnsInode(n); ok {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	for {
		pids := pidsIn(inodes)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("processes %v still alive: %w", pids, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// teardown removes everything of the fleet with prefix and n hosts: kills
// the processes in its namespaces, calls reaped (may be nil), deletes the
// namespaces (and so the veths) and the bridge, dir and the state file, in
// that order. It
// checks that nothing with the prefix is left.
func teardown(ctx context.Context, prefix string, n int, dir string, reaped func()) error {
	var ns []string
	for i := range n {
		ns = append(ns, netnsName(prefix, i))
	}
	// Orphans of a bigger n, or of a half-recorded fleet.
	for _, name := range listNetns() {
		if m := ourName.FindStringSubmatch(name); m != nil && m[1] == prefix && !slices.Contains(ns, name) {
			ns = append(ns, name)
		}
	}
	var errs []error
	if err := killNetns(ctx, ns); err != nil {
		errs = append(errs, err)
	}
	if reaped != nil {
		reaped()
	}

	// Deleting the namespaces (their last process is gone) destroys them
	// with their ends of the veths, and so the root ends, in one batch in
	// the kernel; deleting 50 veths one by one takes a second and more.
	var b strings.Builder
	for _, name := range ns {
		if _, err := os.Stat("/run/netns/" + name); err == nil {
			fmt.Fprintf(&b, "netns del %s\n", name)
		}
	}
	if slices.Contains(listLinks(), bridgeName(prefix)) {
		fmt.Fprintf(&b, "link del %s\n", bridgeName(prefix))
	}
	var batchErr error
	if b.Len() > 0 {
		batchErr = ipBatch(ctx, b.String(), true)
	}
	left := leftOf(prefix)
	for deadline := time.Now().Add(5 * time.Second); len(left) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; left = leftOf(prefix) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(left) > 0 {
		// Something still holds a namespace: delete what is left.
		b.Reset()
		for _, name := range left {
			if strings.Contains(name, "-h") {
				fmt.Fprintf(&b, "netns del %s\n", name)
			} else {
				fmt.Fprintf(&b, "link del %s\n", name)
			}
		}
		batchErr = errors.Join(batchErr, ipBatch(ctx, b.String(), true))
		left = leftOf(prefix)
	}
	if len(left) > 0 {
		// A failed line about something that is gone anyway does not
		// matter.
		errs = append(errs, fmt.Errorf("left behind: %s", strings.Join(left, " ")), batchErr)
	}
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(left) == 0 {
		if err := os.Remove(statePath(prefix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// leftOf lists the namespaces and interfaces named with prefix.
func leftOf(prefix string) []string {
	var left []string
	for _, name := range append(listNetns(), listLinks()...) {
		if m := ourName.FindStringSubmatch(name); m != nil && m[1] == prefix {
			left = append(left, name)
		}
	}
	return left
}
