// Package fleet brings up N real hosts on this machine for tests and
// benchmarks, and tears all of it down again.
//
// Each host is a network namespace with its own address on a bridge in the
// root namespace (the controller has the subnet's .1 address on the bridge),
// its own OpenSSH sshd (Debian's openssh-server) with generated ed25519 host
// keys, and its own mount and UTS namespace in which a private directory is
// bind-mounted on /srv and an empty directory on /root (so remote commands do
// not run the controller root's ~/.bashrc). One client key logs in as root on
// every host; KnownHosts lists every host key, so clients can use
// StrictHostKeyChecking=yes.
//
// Everything a fleet creates is named after its prefix (glf-PREFIX-...): the
// bridge glf-PREFIX-br, the root ends of the veths glf-PREFIX-vI and the
// namespaces glf-PREFIX-hI. A state file per fleet in /run/golive-fleet is
// written before anything is created and removed after everything is gone,
// so [CleanupStale] can tear down the fleets of killed test runs. Close kills
// only processes inside the fleet's own network namespaces.
//
// [Require] is the entry point for tests: it skips with a message saying
// what is missing when the machine cannot run a fleet (not root, no ip or
// sshd, network namespaces not permitted). cmd/fleetctl and bench/fleet.sh
// wrap [Start] for humans and benchmarks.
//
// In a test:
//
//	f := fleet.Require(t, 3) // skips when the machine cannot; closed by t.Cleanup
//	out, err := f.SSHCommand(t.Context(), 0, "hostname; ls /srv").Output()
//	// f.Hosts[0].SrvDir is h0's /srv; f.Exec runs a command inside a host
//	// without ssh; f.LinkDown(ctx, 1) cuts h1 off until f.LinkUp(ctx, 1).
//
// A fleet has up to MaxHosts (1,023: a bridge's ports) hosts; past 253 its
// subnet is wider than a /24 (a /22 for 1,000). Start raises the root
// namespace's neighbour table limits (net.ipv4.neigh.default.gc_thresh2
// and gc_thresh3, never lowering them) so that every host's ARP entry
// fits: at the default 1,024 a fleet of 1,000 overflows the table and
// hosts stop answering.
//
// fleet needs root, iproute2 (ip), util-linux (unshare, nsenter),
// openssh-server (sshd) and openssh-client (ssh-keygen). ./scripts/test
// installs the Debian packages when they are missing.
package fleet
