package release

import (
	"time"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// EventJSON is a journal event as golive gives it to programs: `golive
// logs --json` prints one a line, and the API returns the same objects.
// It follows golive's JSON style (docs/operations.md, "JSON output"):
// snake_case keys, times in RFC 3339 with a zone, durations as the plan
// writes them ("1.5s", "10m"), absent fields left out.
type EventJSON struct {
	Run      string    `json:"run"`
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Action   string    `json:"action"`
	Stage    string    `json:"stage,omitempty"`
	Batch    int       `json:"batch,omitempty"`
	Host     string    `json:"host,omitempty"`
	Step     string    `json:"step,omitempty"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Duration string    `json:"duration,omitempty"`
	Message  string    `json:"message,omitempty"`
	Output   string    `json:"output,omitempty"` // the output's tail, as journaled
	// By is who caused it, when a person did ("alice (os user al)"), and
	// Identity the same as fields.
	By       string          `json:"by,omitempty"`
	Identity *store.Identity `json:"identity,omitempty"`
}

// EventOf gives ev in golive's JSON shape.
func EventOf(ev store.Event) EventJSON {
	out := EventJSON{Run: ev.RunID, Seq: ev.Seq, Time: ev.Time, Kind: string(ev.Kind), Action: string(ev.Action),
		Stage: ev.Stage, Batch: ev.Batch, Host: ev.Host, Step: ev.Step, ExitCode: ev.ExitCode,
		Message: ev.Message, Output: ev.Output}
	if ev.Duration > 0 {
		out.Duration = DurationJSON(ev.Duration)
	}
	if ev.Actor != "" {
		id := ev.ActorIdentity()
		out.By, out.Identity = id.String(), &id
	}
	return out
}

// DurationJSON is a duration in golive's JSON: as a plan writes it,
// to the millisecond ("250ms", "1.5s", "2m").
func DurationJSON(d time.Duration) string {
	if d >= time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	return rollout.DurationText(d)
}

// RunJSON is a run as golive gives it to programs (`golive status --json`,
// `history --json`, the API's run objects).
func RunJSON(r store.Run) map[string]any {
	out := map[string]any{
		"id": r.ID, "plan": r.Plan, "environment": r.Env, "release": r.Release, "previous": r.PreviousRelease,
		"state": r.State, "reason": r.Reason, "requester": r.Requester, "ticket": r.Ticket, "plan_hash": r.PlanHash,
		"created": r.CreatedAt, "requested_by": r.RequesterIdentity().String(), "requester_identity": r.RequesterIdentity(),
	}
	if r.Artifacts.Bound() {
		out["artifacts"] = r.Artifacts.Map()
	}
	if !r.StartedAt.IsZero() {
		out["started"] = r.StartedAt
	}
	if !r.FinishedAt.IsZero() {
		out["finished"] = r.FinishedAt
		if !r.StartedAt.IsZero() {
			out["took"] = DurationJSON(r.FinishedAt.Sub(r.StartedAt))
		}
	}
	return out
}
