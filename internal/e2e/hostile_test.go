package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/golivetest"
)

const hostilePlan = `golive: 1
name: hostile-ssh
vars:
  msg: ""
  file: x
targets:
  defaults: {transport: ssh, user: root, identity_file: id_ed25519, known_hosts: known_hosts, dir: /srv/hostile}
  inventory: inventory.yaml
stages:
  - name: web
    on: web
    steps:
      - name: put
        upload: {src: payload, to: "up/${{ vars.file }}"}
        backout: "true"
      - name: record
        run: |
          mkdir -p out
          printf %s ${{ shell(vars.msg) }} > out/msg
          printf %s ${{ shell(host.vars.note) }} > out/note
          printf %s ${{ shell(env.HOSTILE) }} > out/env
        backout: rm -rf out
    health:
      - {name: ok, run: "true"}
`

// TestHostileValuesOverSSH carries hostile values to a real sshd through
// --set, an inventory host var, an environment variable and an upload
// destination: the target's files hold exactly the bytes given, and no
// command they spell ran on the target or on the controller. A hostile
// release version is refused before anything is dialled.
func TestHostileValuesOverSSH(t *testing.T) {
	t.Parallel()
	f := fleet.Require(t, 1)
	h := f.Hosts[0]
	dir := t.TempDir()
	local := filepath.Join(dir, "canary")
	touch := func(p string) string { return "touch " + p }
	msg := "it's \"$(" + touch("/srv/canary") + ")\" `" + touch("/srv/canary") + "`; " + touch("/srv/canary") +
		"\n\x1b[2J\x1b]52;c;eA==\x07 $HOME ${IFS} -rf ../../x"
	note := "'; " + touch("/srv/canary") + "; '\n$(" + touch(local) + ")"
	envVal := "\"; " + touch("/srv/canary") + "; \"`" + touch(local) + "`"
	file := "$(touch canary)'\"`touch canary` -rf ; &"

	for name, data := range map[string]string{
		"golive.yaml": hostilePlan, "payload": "payload\n",
		"inventory.yaml": fmt.Sprintf("web:\n  hosts:\n    %s:\n      ansible_host: %s\n      note: %s\n", h.Name, h.Address, strconv.QuoteToASCII(note)),
	} {
		writeFile(t, filepath.Join(dir, name), []byte(data))
	}
	for src, dst := range map[string]string{f.KeyFile: "id_ed25519", f.KnownHosts: "known_hosts"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cli := &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: filepath.Join(dir, "golive.yaml"),
		Store: filepath.Join(dir, "state.db"), User: "e2e", Timeout: cmdTimeout}
	run := func(env []string, args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := cli.Command(ctx, args...)
		cmd.Env = append(cmd.Env, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatalf("golive: %v", err)
		}
		return 0, out.String()
	}

	if code, out := run(nil, "run", "-r", "1.0\"; "+touch("/srv/canary")+"; echo \""); code != 2 {
		t.Fatalf("a hostile release: exit %d, want 2\n%s", code, out)
	}
	if code, out := run([]string{"HOSTILE=" + envVal}, "run", "-r", "1.0", "--set", "msg="+msg, "--set", "file="+file); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	for name, want := range map[string]string{"out/msg": msg, "out/note": note, "out/env": envVal, "up/" + file: "payload\n"} {
		got, err := os.ReadFile(filepath.Join(h.SrvDir, "hostile", name))
		if err != nil || string(got) != want {
			t.Errorf("%s on %s: %q (%v), want %q", name, h.Name, got, err, want)
		}
	}
	for _, c := range []string{filepath.Join(h.SrvDir, "canary"), filepath.Join(h.SrvDir, "hostile", "canary"),
		filepath.Join(h.SrvDir, "hostile", "up", "canary"), filepath.Join(h.HomeDir, "canary"), local} {
		if _, err := os.Stat(c); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an injected command ran: %s exists", c)
		}
	}
}
