package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// The web UI's views: plain values the templates (web/*.html) render.
// Every string in them comes from plans, inventories, steps or people
// and is escaped by html/template; colour is never the only signal, each
// state carries a mark (✔ ✘ ↺ …) and a word.

// mark is the sign beside a state, for those who cannot see colours.
func mark(state string) string {
	switch state {
	case "succeeded", "finished", "passed", "ok", "approved", "approve", "gate_passed":
		return "✔"
	case "failed", "timed_out", "terminated", "backout_failed", "rejected", "reject", "aborted":
		return "✘"
	case "backed_out", "backing_out", "backout_started", "backout_unverified":
		return "↺"
	case "running", "started", "verifying", "retried":
		return "…"
	case "waiting", "paused", "pending", "approval_requested":
		return "⏸"
	case "skipped", "not_backed_out":
		return "–"
	}
	return "·"
}

// stateClass is the CSS class of a state: ok, bad, back, run, wait, idle.
func stateClass(state string) string {
	switch mark(state) {
	case "✔":
		return "ok"
	case "✘":
		return "bad"
	case "↺":
		return "back"
	case "…":
		return "run"
	case "⏸":
		return "wait"
	}
	return "idle"
}

// runRow is a run in a list.
type runRow struct {
	ID, Plan, Env, Release, Previous, State, Requester, Ticket, Reason string
	Created, Started, Finished, Elapsed                                string
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func rowOf(r store.Run, now time.Time) runRow {
	row := runRow{ID: r.ID, Plan: r.Plan, Env: r.Env, Release: r.Release, Previous: r.PreviousRelease, State: string(r.State),
		Requester: r.RequesterIdentity().String(), Ticket: r.Ticket, Reason: r.Reason,
		Created: fmtTime(r.CreatedAt), Started: fmtTime(r.StartedAt), Finished: fmtTime(r.FinishedAt)}
	if !r.StartedAt.IsZero() {
		end := r.FinishedAt
		if end.IsZero() {
			end = now
		}
		row.Elapsed = fmtDuration(end.Sub(r.StartedAt))
	}
	return row
}

// cell is one step of one host in the matrix.
type cell struct {
	State string // "" not reached
	Note  string // the last message or exit code, for the title
}

// hostRow is one host of a stage: its state and a cell per step.
type hostRow struct {
	Name  string
	Batch int
	State string
	Cells []cell
}

// stageView is a stage: its progress and its host × step matrix.
type stageView struct {
	Name        string
	State       string
	Steps       []string
	Hosts       []*hostRow
	Done, Total int
	steps       map[string]int
	hosts       map[string]*hostRow
}

func (sv *stageView) step(name string) int {
	if i, ok := sv.steps[name]; ok {
		return i
	}
	sv.steps[name] = len(sv.Steps)
	sv.Steps = append(sv.Steps, name)
	for _, h := range sv.Hosts {
		h.Cells = append(h.Cells, cell{})
	}
	return len(sv.Steps) - 1
}

func (sv *stageView) host(name string, batch int) *hostRow {
	if h := sv.hosts[name]; h != nil {
		if h.Batch == 0 {
			h.Batch = batch
		}
		return h
	}
	h := &hostRow{Name: name, Batch: batch, Cells: make([]cell, len(sv.Steps))}
	sv.hosts[name] = h
	sv.Hosts = append(sv.Hosts, h)
	return h
}

// failure is a step that failed: where, its exit code and output tail.
type failure struct {
	Stage, Host, Step, Action, Message string
	Exit                               string
	Output                             string
}

// gateView is what a run waits for, or waited for: approvals, gates and
// sign-offs.
type gateView struct {
	Gate    string // "run", "stage:NAME", "verify"
	Name    string // for people: "approval", "gate before stage web", "sign-off"
	State   string // approval_requested (open), gate_passed
	Message string
}

// approvalRow is one recorded decision.
type approvalRow struct {
	Gate, By, Decision, Comment, Time, NotCounted string
}

// runView is everything the run page shows.
type runView struct {
	Run       runRow
	Terminal  bool
	Stages    []*stageView
	Failures  []failure
	Gates     []gateView
	Approvals []approvalRow
	Tally     string // where the run's own approvals stand
	Open      string // the gate open now ("" none): Approve/Reject/Confirm
	Review    *review.Report
	LastSeq   int64
	Notes     []string // needs attention, backouts not done
	stages    map[string]*stageView
}

func (v *runView) stage(name string) *stageView {
	if sv := v.stages[name]; sv != nil {
		return sv
	}
	sv := &stageView{Name: name, steps: map[string]int{}, hosts: map[string]*hostRow{}}
	v.stages[name] = sv
	v.Stages = append(v.Stages, sv)
	return sv
}

// buildRunView makes the run page's view from a status and, when the
// plan still builds for the run, its rollout (hosts and steps not yet
// reached are shown too).
func buildRunView(sts *release.Status, ro *rollout.Rollout, rep *review.Report, now time.Time) *runView {
	v := &runView{Run: rowOf(sts.Run, now), Terminal: sts.Run.State.Terminal(), Review: rep, stages: map[string]*stageView{}}
	if ro != nil {
		for _, st := range ro.Stages {
			sv := v.stage(st.Name)
			for _, b := range st.Batches {
				for _, h := range b.Hosts {
					for _, s := range h.Steps {
						sv.step(s.Name)
					}
					sv.host(h.Name, b.Index)
				}
			}
		}
	}
	gates := map[string]int{}
	for _, ev := range sts.Events {
		v.LastSeq = max(v.LastSeq, ev.Seq)
		v.apply(ev, gates)
	}
	for _, sv := range v.Stages {
		sv.Total = len(sv.Hosts)
		for _, h := range sv.Hosts {
			if hostDone(h.State) {
				sv.Done++
			}
		}
	}
	for _, a := range sts.Approvals {
		gate := a.Gate
		if gate == "" {
			gate = "run"
		}
		v.Approvals = append(v.Approvals, approvalRow{Gate: gate, By: a.Identity().String(), Decision: string(a.Decision),
			Comment: a.Comment, Time: fmtTime(a.Time), NotCounted: sts.NotCounted[a.ID]})
	}
	if sts.RunApprovals != nil {
		v.Tally = sts.RunApprovals.Summary()
	}
	if sts.OverrideApproval != nil {
		v.Tally = strings.TrimPrefix(v.Tally+"; break-glass: "+sts.OverrideApproval.Summary(), "; ")
	}
	switch {
	case sts.Run.State == store.StateWaiting && sts.OverrideApproval != nil && !sts.OverrideApproval.Satisfied():
		v.Open = release.GateOverride
	case sts.Run.State == store.StateWaiting && sts.RunApprovals != nil && !sts.RunApprovals.Satisfied():
		v.Open = "run"
	case !v.Terminal:
		for _, g := range v.Gates {
			if g.State == string(engineApprovalRequested) {
				v.Open = g.Gate
			}
		}
	}
	return v
}

const engineApprovalRequested = "approval_requested"

func hostDone(state string) bool {
	switch state {
	case "", "started", "running", "retried", "backout_started":
		return false
	}
	return true
}

// apply is one journal event.
func (v *runView) apply(ev store.Event, gates map[string]int) {
	switch ev.Kind {
	case store.KindStage:
		sv := v.stage(ev.Stage)
		sv.State = string(ev.Action)
	case store.KindHost:
		if ev.Stage == "" || ev.Host == "" {
			return
		}
		h := v.stage(ev.Stage).host(ev.Host, ev.Batch)
		if ev.Action == "backout_unverified" && h.State == "backed_out" {
			return // backed out; the note says it is not verified
		}
		h.State = string(ev.Action)
	case store.KindStep:
		if ev.Stage == "" || ev.Host == "" || ev.Step == "" {
			return
		}
		sv := v.stage(ev.Stage)
		i := sv.step(ev.Step)
		h := sv.host(ev.Host, ev.Batch)
		c := &h.Cells[i]
		note := ev.Message
		if ev.ExitCode != nil {
			note = strings.TrimSpace(fmt.Sprintf("exit %d %s", *ev.ExitCode, note))
		}
		if ev.Action == "not_backed_out" {
			c.Note = strings.TrimSpace(c.Note + "; not backed out: " + ev.Message)
			return
		}
		c.State, c.Note = string(ev.Action), note
		switch ev.Action {
		case store.ActionFailed, store.ActionTimedOut, store.ActionTerminated, store.ActionBackoutFailed:
			f := failure{Stage: ev.Stage, Host: ev.Host, Step: ev.Step, Action: string(ev.Action), Message: ev.Message, Output: ev.Output}
			if ev.ExitCode != nil {
				f.Exit = fmt.Sprint(*ev.ExitCode)
			}
			v.Failures = append(v.Failures, f)
		}
	case store.KindApproval:
		if ev.Step == "" {
			return
		}
		g := gateView{Gate: ev.Step, Name: gateTitle(ev.Step), State: string(ev.Action), Message: ev.Message}
		if i, ok := gates[ev.Step]; ok {
			v.Gates[i] = g
			return
		}
		gates[ev.Step] = len(v.Gates)
		v.Gates = append(v.Gates, g)
	case store.KindRun:
		if ev.Action == "needs_attention" {
			v.Notes = append(v.Notes, ev.Message)
		}
	}
}

func gateTitle(gate string) string {
	switch {
	case gate == "verify":
		return "sign-off"
	case strings.HasPrefix(gate, "stage:"):
		return "gate before stage " + strings.TrimPrefix(gate, "stage:")
	case gate == release.GateOverride:
		return "break-glass override"
	}
	return "approval"
}
