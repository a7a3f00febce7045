package review

import (
	"context"
	"fmt"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
)

// compareMonitor: a compare monitor must answer now for the baseline the
// run starts with (every host of the run); without a number the run would
// only reach inconclusive evaluations and pause.
func (r *Report) compareMonitor(ctx context.Context, in Input, m *rollout.Monitor) {
	var names, addrs []string
	for _, h := range in.Rollout.AllHosts() {
		names = append(names, h.Name)
		addr := h.Address
		if addr == "" {
			addr = h.Name
		}
		addrs = append(addrs, addr)
	}
	side := check.QuerySide(ctx, m.URL, m.Query, names, addrs)
	it := Item{Kind: "monitors", Name: "monitor " + m.Name, OK: side.Err == nil}
	if side.Err != nil {
		it.Detail = fmt.Sprintf("baseline of the run's %d host(s): %v", len(names), side.Err)
	} else {
		it.Detail = fmt.Sprintf("baseline of the run's %d host(s): %g; each batch is compared with the hosts not yet released (max_ratio %g)",
			len(names), side.Value, m.Compare.MaxRatio)
	}
	r.add(it)
}
