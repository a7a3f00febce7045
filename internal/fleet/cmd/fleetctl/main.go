// Command fleetctl brings up a fleet of local hosts (see package fleet) for
// humans and benchmarks, prints it as shell variables and keeps it up until
// it is interrupted (SIGINT or SIGTERM), then tears it down.
//
//	fleetctl up [-n 3] [-prefix P] [-subnet 10.213.9.0/24] [-dir D] [-env FILE]
//	fleetctl cleanup [-older 10m]   # tear down fleets of dead processes
//	fleetctl check                  # can this machine run a fleet?
//
// bench/fleet.sh wraps it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golive-dev/golive/internal/fleet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  fleetctl up [-n N] [-prefix P] [-subnet CIDR] [-dir DIR] [-env FILE]
  fleetctl cleanup [-older DURATION]
  fleetctl check
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "up":
		return up(ctx, args[1:], stdout, stderr)
	case "cleanup":
		fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
		fs.SetOutput(stderr)
		older := fs.Duration("older", 10*time.Minute, "only fleets created longer ago than this")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		removed, err := fleet.CleanupStale(ctx, *older)
		for _, p := range removed {
			fmt.Fprintf(stdout, "removed fleet %s\n", p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "fleetctl: %v\n", err)
			return 1
		}
		return 0
	case "check":
		if why := fleet.Unavailable(); why != "" {
			fmt.Fprintf(stderr, "fleetctl: %s\n", why)
			return 1
		}
		fmt.Fprintln(stdout, "ok")
		return 0
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
}

func up(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o fleet.Options
	fs.IntVar(&o.N, "n", 3, "number of hosts")
	fs.StringVar(&o.Prefix, "prefix", "", "name prefix (1-6 of [a-z0-9]; default random)")
	fs.StringVar(&o.Subnet, "subnet", "", "IPv4 subnet (default a free 10.213.X.0/24)")
	fs.StringVar(&o.Dir, "dir", "", "parent of the fleet's directory (default $TMPDIR)")
	envFile := fs.String("env", "", "also write the variables to this file (removed on exit)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if why := fleet.Unavailable(); why != "" {
		fmt.Fprintf(stderr, "fleetctl: %s\n", why)
		return 1
	}
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	t0 := time.Now()
	f, err := fleet.Start(startCtx, o)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "fleetctl: %v\n", err)
		return 1
	}
	code := 0
	defer func() {
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "fleetctl: %v\n", err)
			code = 1
		}
	}()
	fmt.Fprintf(stderr, "fleetctl: %d hosts up in %v; interrupt (or bench/fleet.sh down) to tear down\n", len(f.Hosts), time.Since(t0).Round(time.Millisecond))

	vars := env(f)
	fmt.Fprint(stdout, vars)
	if *envFile != "" {
		if err := writeAtomic(*envFile, vars); err != nil {
			fmt.Fprintf(stderr, "fleetctl: %v\n", err)
			return 1
		}
		defer os.Remove(*envFile)
	}
	<-ctx.Done()
	fmt.Fprintf(stderr, "fleetctl: tearing down fleet %s\n", f.Prefix)
	return code
}

// env renders the fleet as shell variable assignments.
func env(f *fleet.Fleet) string {
	var addrs, names, srvs, pids []string
	for _, h := range f.Hosts {
		addrs = append(addrs, h.Address)
		names = append(names, h.Name)
		srvs = append(srvs, h.SrvDir)
		pids = append(pids, strconv.Itoa(h.PID))
	}
	// Meant for word splitting ($FLEET_SSH ADDRESS COMMAND): not quoted inside.
	args := f.SSHArgs(0)
	ssh := "ssh " + strings.Join(args[:len(args)-3], " ") + " -l " + f.User
	var b strings.Builder
	for _, kv := range [][2]string{
		{"FLEET_PID", strconv.Itoa(os.Getpid())},
		{"FLEET_PREFIX", f.Prefix},
		{"FLEET_DIR", f.Dir},
		{"FLEET_N", strconv.Itoa(len(f.Hosts))},
		{"FLEET_USER", f.User},
		{"FLEET_KEY", f.KeyFile},
		{"FLEET_KNOWN_HOSTS", f.KnownHosts},
		{"FLEET_SUBNET", f.Subnet},
		{"FLEET_CONTROLLER", f.Controller},
		{"FLEET_HOSTS", strings.Join(addrs, " ")},
		{"FLEET_NAMES", strings.Join(names, " ")},
		{"FLEET_SRV_DIRS", strings.Join(srvs, " ")},
		{"FLEET_SSHD_PIDS", strings.Join(pids, " ")},
		{"FLEET_SSH", ssh}, // $FLEET_SSH ADDRESS COMMAND
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], quote(kv[1]))
	}
	return b.String()
}

func quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeAtomic(path, s string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fleet-env-")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(s)
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
