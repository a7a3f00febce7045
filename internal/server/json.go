package server

import (
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// runJSON is a run in golive's one JSON shape (release.RunJSON).
func runJSON(r store.Run) map[string]any {
	return release.RunJSON(r)
}

// statusJSON is what `golive status --json` prints.
func statusJSON(sts *release.Status) map[string]any {
	out := runJSON(sts.Run)
	hosts := map[string]string{}
	attention := []string{}
	for _, ev := range sts.Events {
		switch {
		case ev.Kind == store.KindHost && ev.Host != "":
			hosts[ev.Host] = string(ev.Action)
		case ev.Kind == store.KindRun && ev.Action == "needs_attention":
			attention = append(attention, ev.Message)
		}
	}
	out["hosts"] = hosts
	out["needs_attention"] = attention
	if lock := sts.Lock; lock != nil {
		out["lock"] = map[string]any{"holder": lock.Holder.String(), "heartbeat": lock.HeartbeatAt}
	}
	out["controller_gone"] = sts.ControllerGone
	approvals := []map[string]any{}
	for _, a := range sts.Approvals {
		m := approvalJSON(a)
		if why := sts.NotCounted[a.ID]; why != "" {
			m["not_counted"] = why
		}
		approvals = append(approvals, m)
	}
	out["approvals"] = approvals
	return out
}

func approvalJSON(a store.Approval) map[string]any {
	gate := a.Gate
	if gate == "" {
		gate = "run"
	}
	m := map[string]any{"approver": a.Approver, "by": a.Identity().String(), "identity": a.Identity(),
		"decision": a.Decision, "gate": gate, "comment": a.Comment, "time": a.Time}
	if a.Artifacts.Bound() {
		m["artifacts"] = a.Artifacts.Map()
	}
	return m
}

// EventJSON is a journal event as the API (and its SSE stream) gives it:
// the one shape golive gives programs, the same objects `golive logs
// --json` prints (release.EventJSON).
func EventJSON(ev store.Event) release.EventJSON { return release.EventOf(ev) }

func decisionJSON(d *release.Decision, goesOn bool) map[string]any {
	gate := d.Gate
	if gate == "" {
		gate = "run"
	}
	m := map[string]any{"run": runJSON(d.Run), "gate": gate, "approval": approvalJSON(d.Approval),
		"counted": d.NotCounted == "", "can_go_on": d.CanGoOn, "cancelled": d.Cancelled, "goes_on": goesOn}
	if d.NotCounted != "" {
		m["not_counted"] = d.NotCounted
	}
	return m
}
