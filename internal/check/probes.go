package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
)

// maxLine is how much of an output line goes into a Detail.
const maxLine = 200

// run runs a run check's script on conn.
func (c *Checker) run(ctx context.Context, chk *rollout.Check, conn transport.Conn, env map[string]string) Result {
	if conn == nil {
		return Result{Detail: "run check without a connection"}
	}
	out := &transport.Tail{Max: MaxOutput}
	res, err := conn.Run(ctx, transport.Command{Script: chk.Run, Env: env, Stdout: out, Stderr: out})
	r := Result{Output: out.String()}
	switch {
	case err != nil:
		r.Detail = err.Error()
	case res.ExitCode == 0:
		r.OK, r.Detail = true, "exit 0"
	default:
		r.Detail = fmt.Sprintf("exit %d", res.ExitCode)
		if line := lastLine(r.Output); line != "" {
			r.Detail += ": " + line
		}
	}
	return r
}

// get makes an http check's request.
func (c *Checker) get(ctx context.Context, chk *rollout.Check) Result {
	ctx, cancel := context.WithTimeout(ctx, NetworkTimeout)
	defer cancel()
	fail := func(err error) Result {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the method and URL
		}
		return Result{Detail: fmt.Sprintf("GET %s: %v", chk.URL, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, chk.URL, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("User-Agent", "golive-check")
	resp, err := c.client().Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	want := chk.Status
	if want == 0 {
		want = http.StatusOK
	}
	got := fmt.Sprintf("GET %s: %s", chk.URL, resp.Status)
	if resp.StatusCode != want {
		if want != http.StatusOK {
			got += fmt.Sprintf(" (want %d)", want)
		}
		return Result{Detail: got}
	}
	if chk.Contains == "" {
		return Result{OK: true, Detail: got}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return fail(fmt.Errorf("reading body: %w", err))
	}
	if !strings.Contains(string(body), chk.Contains) {
		return Result{Detail: fmt.Sprintf("body does not contain %q", chk.Contains)}
	}
	return Result{OK: true, Detail: got}
}

// dial makes a tcp check's connection.
func (c *Checker) dial(ctx context.Context, chk *rollout.Check) Result {
	ctx, cancel := context.WithTimeout(ctx, NetworkTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", chk.Address)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	conn.Close()
	return Result{OK: true, Detail: "connected to " + chk.Address}
}

func (c *Checker) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultClient()
}

// defaultClient is the client of a Checker without one: no proxy, no
// connection reuse (each attempt shows whether the target accepts a new
// connection now), redirects followed.
var defaultClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DisableKeepAlives = true
	return &http.Client{Transport: t}
})

// lastLine is the last non-empty line of s, shortened to maxLine bytes.
func lastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	s = s[strings.LastIndexByte(s, '\n')+1:] // -1 when there is none: all of s
	s = s[strings.LastIndexByte(s, '\r')+1:] // progress output rewrites its line
	s = strings.TrimSpace(s)
	if len(s) > maxLine {
		s = strings.ToValidUTF8(s[:maxLine], "") + "…"
	}
	return s
}
