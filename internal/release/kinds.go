package release

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// What a run is, as history shows it (the KIND column) and --json gives
// it ("kind"). A run's kind other than release is journaled when it is
// created (ActionKind); runs without that event are releases, or
// rehearsals when their journal holds a rehearsal verdict (as recorded
// before kinds were).
const (
	KindRelease   = "release"   // a new release
	KindRehearsal = "rehearsal" // golive rehearse: released, verified, backed out
	KindRedeploy  = "redeploy"  // run --force of the release already live
	KindRollback  = "rollback"  // a release that was live before (not the live one): going back by a new run
	KindOverride  = "override"  // run --override-window: break-glass
)

// ActionKind is the run event that says what the run is (Message: one of
// the Kind constants).
const ActionKind store.Action = "kind"

// ActionOverrideWindow is the run event of a break-glass run: the
// requester overrode the release window (Message: the loud line with the
// reason; Actor: the requester).
const ActionOverrideWindow store.Action = "override_window"

// GateOverride is the gate a break-glass run's approval is recorded on
// (golive approve RUN --gate override).
const GateOverride = review.GateOverride

// maxReasonLen bounds --reason.
const maxReasonLen = 500

// checkReason refuses a break-glass reason that is empty, too long or
// holds control characters (it is printed, journaled and sent).
func checkReason(reason string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("--override-window needs --reason TEXT: why the window is overridden (it is recorded)")
	case len(reason) > maxReasonLen:
		return fmt.Errorf("--reason: %d bytes, at most %d", len(reason), maxReasonLen)
	case !utf8.ValidString(reason):
		return fmt.Errorf("--reason: not valid UTF-8")
	}
	for i, r := range reason {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return fmt.Errorf("--reason: control character %U at byte %d: give one line of plain text", r, i)
		}
	}
	return nil
}

// OverrideLine is how a break-glass run is marked everywhere (review,
// journal, notifications, report).
func OverrideLine(by, reason string) string {
	return fmt.Sprintf("BREAK-GLASS: release window overridden by %s: %s", by, reason)
}

// RunKind says what a run is from its journal, and the reason of a
// break-glass run.
func RunKind(events []store.Event) (kind, overrideReason string) {
	kind = KindRelease
	for _, ev := range events {
		switch {
		case ev.Kind == store.KindRun && ev.Action == ActionKind:
			kind = ev.Message
		case ev.Kind == store.KindRun && ev.Action == ActionOverrideWindow:
			overrideReason = overrideReasonOf(ev.Message)
		case ev.Kind == review.KindRehearsal && kind == KindRelease:
			kind = KindRehearsal
		}
	}
	return kind, overrideReason
}

// overrideReasonOf takes the reason back out of an OverrideLine.
func overrideReasonOf(line string) string {
	if i := strings.Index(line, ": "); i >= 0 {
		if j := strings.Index(line[i+2:], ": "); j >= 0 {
			return line[i+2+j+2:]
		}
	}
	return line
}

// journalKind records what a new run is; an ordinary release (the kind
// of a run without the event) is not journaled.
func journalKind(ctx context.Context, st store.Store, r store.Run, kind, override string) {
	if kind == "" || kind == KindRelease {
		return
	}
	st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindRun, Action: ActionKind, Message: kind})
	if kind == KindOverride {
		by := r.RequesterIdentity()
		st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindRun, Action: ActionOverrideWindow,
			Actor: by.Name, ActorVia: by.Via, ActorOSUser: by.OSUser, ActorToken: by.Token,
			Message: OverrideLine(by.String(), override)})
	}
}

// newRunKind is what a new run started with o is: its ordinary kind is
// release, or rollback when an earlier run released the same version
// successfully.
func newRunKind(ctx context.Context, pr *prepared, o StartOptions) string {
	switch {
	case o.OverrideWindow != "":
		return KindOverride
	case pr.ro.Previous == pr.ro.Release:
		if o.Force {
			return KindRedeploy
		}
		return KindRelease
	}
	runs, err := pr.st.ListRuns(ctx, store.RunFilter{Plan: pr.plan.Name, Env: pr.plan.Env, States: []store.State{store.StateSucceeded}})
	if err != nil {
		return KindRelease
	}
	for _, r := range runs {
		if r.Release == o.Release {
			return KindRollback
		}
	}
	return KindRelease
}

// kindOf reads what an existing run is from its journal.
func kindOf(ctx context.Context, st store.Store, id string) (string, string) {
	events, err := st.Events(ctx, id, 0)
	if err != nil {
		return KindRelease, ""
	}
	return RunKind(events)
}

// RunInfo is a run with what it is.
type RunInfo struct {
	store.Run
	Kind string
	// Override is the reason of a break-glass run.
	Override string
}

// RunsWithKind lists runs as Runs does, with their kinds.
func (s *Service) RunsWithKind(ctx context.Context, o RunsOptions) ([]RunInfo, error) {
	runs, err := s.Runs(ctx, o)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	st, err := s.OpenStore(ctx, o.Plan.file(), StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		kind, why := kindOf(ctx, st, r.ID)
		out = append(out, RunInfo{Run: r, Kind: kind, Override: why})
	}
	return out, nil
}
