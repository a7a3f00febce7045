package ssh_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// A relative Host.Dir is relative to the remote home and created by Dial;
// a Command.Dir that is missing is an error naming it.
func TestRunDirectories(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.Dir = "deploy/app" // relative to the remote home, created by Dial
	conn := dial(t, &sshtr.Transport{}, h)
	want := filepath.Join(ts.home, "deploy/app")
	if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
		t.Fatalf("Dial did not create %s: %v", want, err)
	}
	var out bytes.Buffer
	res, err := transporttest.RunGuarded(t, context.Background(), conn, transport.Command{Script: "pwd", Stdout: &out})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != want {
		t.Errorf("Run = %+v, %v, output %q; want %s", res, err, out.String(), want)
	}
	res, err = conn.Run(context.Background(), transport.Command{Script: "true", Dir: "missing"})
	if err == nil || res.ExitCode != -1 || !strings.Contains(err.Error(), filepath.Join(want, "missing")) {
		t.Errorf("missing Dir: Run = %+v, %v; want an error naming the directory", res, err)
	}
}

// Runs beyond MaxSessions wait for a session instead of failing.
func TestRunConcurrentOnOneConn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{MaxSessions: 4}, f.host(ts))
	const n = 12
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var res transport.Result
			res, errs[i] = conn.Run(context.Background(), transport.Command{
				Script: `sleep 0.2; echo "$N"`,
				Env:    map[string]string{"N": fmt.Sprint(i)},
				Stdout: &outs[i],
			})
			if errs[i] == nil && res.ExitCode != 0 {
				errs[i] = fmt.Errorf("exit %d", res.ExitCode)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || outs[i].String() != fmt.Sprintf("%d\n", i) {
			t.Errorf("run %d: %v, output %q", i, errs[i], outs[i].String())
		}
	}
}
