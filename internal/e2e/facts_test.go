package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/golivetest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/facts_*.golden")

// factsPlan is reviewed on a 3-host fleet over ssh; @PREFLIGHT@ is one
// scenario's checks. Every host has /srv/data; on h2 it is a 1 MiB tmpfs
// that is nearly full.
const factsPlan = `golive: 1
name: facts
targets:
  defaults: {transport: ssh, user: root, identity_file: id_ed25519, known_hosts: known_hosts, dir: /srv}
  inventory: inventory.ini
preflight:
  - {name: sh, on: web, command: {name: sh}}
@PREFLIGHT@
stages:
  - name: web
    on: web
    steps:
      - {name: noop, run: 'true', backout: 'true'}
    health:
      - {name: ok, run: 'true'}
`

// factScenarios are the reviews of TestFactsOverSSH: a go, and a no-go for
// each thing a host can lack.
var factScenarios = []struct {
	name, preflight string
	exit            int
}{
	{"go", `  - {name: dpkg, on: web, package: {name: dpkg, version: ">= 1.0"}}
  - {name: port free, on: web, port: {number: 8089, state: free}}
  - {name: disk, on: h0, disk: {path: /srv/data, free: 1MiB}}
  - {name: svc, on: web, service: {name: @SVC@, state: running}}
  - {name: root, on: web, user: root}
  - {name: marker, on: web, file: {path: /srv/marker, mode: "0640", owner: root, sha256: "@SHA@"}}`, 0},
	{"package_missing", `  - {name: web server, on: web, package: {name: golive-absent-package, version: ">= 1.22"}}`, 3},
	{"package_too_old", `  - {name: dpkg, on: web, package: {name: dpkg, version: ">= 99:1.22"}}`, 3},
	{"port_taken", `  - {name: port free, on: web, port: {number: 8081, state: free}}`, 3},
	{"disk_nearly_full", `  - {name: disk, on: web, disk: {path: /srv/data, free: 1MiB}}`, 3},
	{"service_stopped", `  - {name: svc, on: web, service: {name: golive-stopped-svc, state: running}}`, 3},
}

// TestFactsOverSSH reviews fact probes on a real sshd fleet: each host
// answers one script over one session; a port taken on h1 (a listener in
// its network namespace), a nearly full tmpfs on h2, a missing package, a
// package too old and a stopped service each give a no-go naming the host
// with what was found beside what was wanted. The reports are golden.
func TestFactsOverSSH(t *testing.T) {
	f := fleet.Require(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cli := &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: filepath.Join(dir, "golive.yaml"),
		Store: filepath.Join(dir, "state.db"), User: "e2e", Timeout: cmdTimeout}
	writeFleetFiles(t, f, dir)
	content := []byte("listen 8080\n")
	for _, h := range f.Hosts {
		if err := os.MkdirAll(filepath.Join(h.SrvDir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(h.SrvDir, "marker"), content)
		os.Chmod(filepath.Join(h.SrvDir, "marker"), 0o640)
	}
	// h1: something listens on 8081 in its network namespace.
	if _, err := f.Exec(ctx, 1, `python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8081)); s.listen(); time.sleep(300)' >/dev/null 2>&1 &`); err != nil {
		t.Fatal(err)
	}
	// h2: /srv/data is a 1 MiB tmpfs with 900 KiB used.
	if _, err := f.Exec(ctx, 2, `mount -t tmpfs -o size=1m golive-facts /srv/data && head -c 921600 /dev/zero > /srv/data/fill`); err != nil {
		t.Fatal(err)
	}
	// A running service without systemd: a process with the service's name.
	svc := "glsvc-" + f.Prefix
	bin := filepath.Join(dir, svc)
	if err := os.Link("/bin/sleep", bin); err != nil {
		if data, rerr := os.ReadFile("/bin/sleep"); rerr == nil {
			os.WriteFile(bin, data, 0o755)
		}
	}
	sleeper := exec.Command(bin, "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	waitListening(t, ctx, f, 1, 8081)

	dpkgVersion, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", "dpkg").Output()
	for _, sc := range factScenarios {
		t.Run(sc.name, func(t *testing.T) {
			pre := strings.NewReplacer("@SVC@", svc, "@SHA@", sha256Hex(content)).Replace(sc.preflight)
			writeFile(t, cli.Plan, []byte(strings.Replace(factsPlan, "@PREFLIGHT@", pre, 1)))
			r := cli.MustExit(sc.exit, "review", "-r", "1.0")
			got := strings.ReplaceAll(normalizeFacts(r.Stdout, f, svc, string(dpkgVersion)), dir, "$DIR")
			golden := filepath.Join("testdata", "facts_"+sc.name+".golden")
			if *updateGolden {
				writeFile(t, golden, []byte(got))
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("review differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
			j := cli.MustExit(sc.exit, "review", "-r", "1.0", "--json")
			if !strings.Contains(j.Stdout, `"found"`) || !strings.Contains(j.Stdout, `"want"`) {
				t.Errorf("review --json carries no found/want:\n%s", j.Stdout)
			}
		})
	}
}

// writeFleetFiles writes the inventory of f's hosts, its key and
// known_hosts into dir.
func writeFleetFiles(t *testing.T, f *fleet.Fleet, dir string) {
	t.Helper()
	var inv strings.Builder
	inv.WriteString("[web]\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&inv, "%s ansible_host=%s\n", h.Name, h.Address)
	}
	writeFile(t, filepath.Join(dir, "inventory.ini"), []byte(inv.String()))
	key, err := os.ReadFile(f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "known_hosts"), known)
}

func waitListening(t *testing.T, ctx context.Context, f *fleet.Fleet, i, port int) {
	t.Helper()
	for {
		out, _ := f.Exec(ctx, i, fmt.Sprintf(`awk '$4 == "0A" && $2 ~ /:%04X$/' /proc/net/tcp`, port))
		if strings.TrimSpace(out) != "" {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("nothing listens on port %d on h%d", port, i)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var bigFree = regexp.MustCompile(`[0-9.]+(GiB|TiB) free`)

// normalizeFacts replaces what depends on the machine: the fleet's
// prefix, the free space of the real filesystem, dpkg's version.
func normalizeFacts(s string, f *fleet.Fleet, svc, dpkgVersion string) string {
	s = strings.ReplaceAll(s, svc, "SVC")
	s = bigFree.ReplaceAllString(s, "N free")
	if dpkgVersion != "" {
		s = strings.ReplaceAll(s, " "+dpkgVersion+",", " DPKG_VERSION,")
	}
	return s
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
