package check

import (
	"context"
	"fmt"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
)

// Dialer opens read-only connections to a rollout's hosts for probes that
// change nothing (the review's facts and drift). It makes the same
// transport.Host the engine does.
type Dialer struct {
	Transports map[string]transport.Transport // by plan transport name
	// Resolve turns a path written in the plan (identity_file,
	// known_hosts, a local host's dir) into a controller path.
	Resolve func(string) string
	PlanDir string // where checks on the controller run
}

// Dial connects to h; nil h is the controller.
func (d *Dialer) Dial(ctx context.Context, h *rollout.Host) (transport.Conn, error) {
	if h == nil {
		h = &rollout.Host{Name: "(controller)", Transport: "local", Dir: d.PlanDir}
	}
	tr, ok := d.Transports[h.Transport]
	if !ok {
		return nil, fmt.Errorf("host %s: transport %q is not available in this golive", h.Name, h.Transport)
	}
	resolve := func(s string) string {
		if s == "" || d.Resolve == nil {
			return s
		}
		return d.Resolve(s)
	}
	dir := h.Dir
	if h.Transport == "local" && dir != "" && h.Name != "(controller)" {
		dir = resolve(dir)
	}
	th := transport.Host{Name: h.Name, Address: h.Address, User: h.User, Port: h.Port, Dir: dir,
		IdentityFile: resolve(h.Identity), KnownHosts: resolve(h.Known), Jump: h.Jump, ReadOnly: true}
	if h.Target != nil {
		th.Vars = h.Target.Vars
	}
	return tr.Dial(ctx, th)
}
