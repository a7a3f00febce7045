package storetools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Finding is one defect Check found.
type Finding struct {
	// Kind: "gap" (seqs missing from a run's journal), "counter" (the
	// run's journal counter disagrees with its last event), "state" (the
	// run's state disagrees with its last state event), "lease" (a run
	// that ended holds an unexpired lease), "lock" (a lock held by a run
	// that ended cleanly), "orphan" (a record of a run the store does not
	// have: events, approvals, live releases, locks).
	Kind  string
	RunID string
	Seq   int64 // the first seq concerned; 0 when none
	What  string
}

func (f Finding) String() string {
	s := "run " + f.RunID
	if f.Seq > 0 {
		s += fmt.Sprintf(" seq %d", f.Seq)
	}
	return fmt.Sprintf("%s: %s: %s", f.Kind, s, f.What)
}

// CheckReport is what Check read and found.
type CheckReport struct {
	Contents Contents
	Findings []Finding
}

// Check reads the whole store st (one snapshot) and reports its defects;
// now decides which leases have expired. It changes nothing.
func Check(ctx context.Context, st store.Dumper, now time.Time) (*CheckReport, error) {
	rep := &CheckReport{}
	states := map[string]store.State{}
	tables, err := st.Export(ctx, func(rec store.RunRecord) error {
		rep.Contents.addRun(rec)
		states[rec.Run.ID] = rec.Run.State
		rep.Findings = append(rep.Findings, checkRun(rec, now)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	rep.Contents.Live, rep.Contents.Locks = len(tables.Live), len(tables.Locks)
	rep.Contents.addServer(tables)
	rep.Findings = append(rep.Findings, orphanFindings(tables.Orphans)...)
	rep.Findings = append(rep.Findings, lockFindings(tables.Locks, states)...)
	return rep, nil
}

// releasedWhenOver are the states in which a run gives up its lease and
// environment lock (failed and backout_failed runs keep the lock until an
// operator acts; see the engine's unlock).
func releasedWhenOver(s store.State) bool {
	return s == store.StateSucceeded || s == store.StateBackedOut || s == store.StateAborted
}

func checkRun(rec store.RunRecord, now time.Time) []Finding {
	var fs []Finding
	id := rec.Run.ID
	add := func(kind string, seq int64, format string, args ...any) {
		fs = append(fs, Finding{Kind: kind, RunID: id, Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	next := int64(1)
	var lastState *store.Event
	for i, e := range rec.Events {
		if e.Seq != next {
			add("gap", next, "%s missing from the journal (the next event is seq %d)", seqRange(next, e.Seq-1), e.Seq)
		}
		next = e.Seq + 1
		if e.Kind == store.KindState {
			lastState = &rec.Events[i]
		}
	}
	last := next - 1
	switch {
	case rec.LastSeq > last:
		add("counter", last+1, "the journal counter is at seq %d but the last event is seq %d: %s missing", rec.LastSeq, last, seqRange(last+1, rec.LastSeq))
	case rec.LastSeq < last:
		add("counter", rec.LastSeq+1, "the journal counter is at seq %d, behind the last event (seq %d): the next append would collide", rec.LastSeq, last)
	}
	switch {
	case lastState == nil:
		add("state", 0, "the run is %s but its journal has no state event", rec.Run.State)
	case string(lastState.Action) != string(rec.Run.State):
		add("state", lastState.Seq, "the run is %s but its last state event says %s", rec.Run.State, lastState.Action)
	}
	if l := rec.Lease; releasedWhenOver(rec.Run.State) && !l.Expired(now) {
		add("lease", 0, "the run is %s but holds a lease (holder %s, epoch %d) until %s",
			rec.Run.State, l.Holder, l.Epoch, l.Expires.UTC().Format(time.RFC3339))
	}
	return fs
}

func seqRange(from, to int64) string {
	if from == to {
		return fmt.Sprintf("seq %d is", from)
	}
	return fmt.Sprintf("seqs %d-%d are", from, to)
}

// orphanFindings reports orphans, the events of one run on one line.
func orphanFindings(orphans []store.Orphan) []Finding {
	var fs []Finding
	for i := 0; i < len(orphans); i++ {
		o := orphans[i]
		if o.Table != "events" {
			what := map[string]string{"approvals": "an approval", "live": "a live release", "locks": "a lock"}[o.Table]
			fs = append(fs, Finding{Kind: "orphan", RunID: o.RunID, What: fmt.Sprintf("%s (%s) of a run the store does not have", what, o.What)})
			continue
		}
		var seqs []string
		j := i
		for ; j < len(orphans) && orphans[j].Table == "events" && orphans[j].RunID == o.RunID; j++ {
			seqs = append(seqs, strings.TrimPrefix(orphans[j].What, "seq "))
		}
		if len(seqs) > 10 {
			seqs = append(seqs[:10], "...")
		}
		fs = append(fs, Finding{Kind: "orphan", RunID: o.RunID,
			What: fmt.Sprintf("%s of a run the store does not have (seq %s)", plural(j-i, "event"), strings.Join(seqs, ", "))})
		i = j - 1
	}
	return fs
}

// lockFindings reports locks held by runs that ended cleanly (locks of
// unknown runs are orphans).
func lockFindings(locks []store.Lock, states map[string]store.State) []Finding {
	var fs []Finding
	for _, l := range locks {
		if st, ok := states[l.RunID]; ok && releasedWhenOver(st) {
			fs = append(fs, Finding{Kind: "lock", RunID: l.RunID,
				What: fmt.Sprintf("the lock of %s/%s is held by this run, which is %s: it should have been released", l.Plan, envName(l.Env), st)})
		}
	}
	return fs
}

func envName(env string) string {
	if env == "" {
		return "(default)"
	}
	return env
}
