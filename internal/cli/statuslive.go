package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
)

// statusLive prints, for every host of the plan's stages, the release
// targets.current finds there beside the release the store records as
// live, and the run that recorded it. It changes nothing.
func (e *env) statusLive(ctx context.Context, f *runFlags) error {
	p, err := e.loadPlan(&f.planFlags, nil)
	if err != nil {
		return err
	}
	if p.Targets.Current == nil {
		return withCode(ExitUsage, "%s: status --live needs targets.current in the plan (a probe that prints the release a host runs)", p.File)
	}
	st, err := e.openStore(ctx, f.store, p.File)
	if err != nil {
		return err
	}
	defer st.Close()
	secrets, red, err := e.secrets(&f.planFlags)
	if err != nil {
		return err
	}
	previous, err := st.PreviousRelease(ctx, p.Name, p.Env)
	if err != nil {
		return err
	}
	ro, err := rollout.Build(rollout.Input{Plan: p, Release: previous, Previous: previous, Env: e.environMap(), Secrets: secrets})
	if err != nil {
		return withCode(ExitUsage, "%s", red.String(err.Error()))
	}
	items := review.Drift(ctx, review.Input{Plan: p, Rollout: ro, Store: st, Dialer: e.dialer(p, f), Parallel: f.parallel})
	if f.json {
		list := []map[string]any{}
		for _, it := range items {
			list = append(list, map[string]any{"host": it.Host, "found": it.Found, "recorded": it.Want,
				"recorded_by": it.RecordedBy, "ok": it.OK, "unknown": it.Unknown, "detail": red.String(it.Detail)})
		}
		return e.printJSON(map[string]any{"plan": p.Name, "environment": p.Env, "hosts": list})
	}
	w := tabwriter.NewWriter(e.stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "HOST\tFOUND\tRECORDED\tBY RUN\t\n")
	for _, it := range items {
		mark := "ok"
		if !it.OK {
			mark = "DRIFT: " + red.String(it.Detail)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.Host, it.Found, it.Want, orDefault(it.RecordedBy, "-"), mark)
	}
	return w.Flush()
}
