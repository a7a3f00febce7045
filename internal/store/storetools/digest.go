package storetools

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// runSum sums up one run's record: what verification compares.
type runSum struct {
	events    int
	lastSeq   int64 // the run's journal counter
	maxSeq    int64 // the seq of its last event
	approvals int
	digest    [sha256.Size]byte // every field of the run, lease, events and approvals
}

func (s runSum) String() string {
	return fmt.Sprintf("%d events (last seq %d, counter %d), %d approvals", s.events, s.maxSeq, s.lastSeq, s.approvals)
}

// hasher writes fields unambiguously (each string with its length), each
// string as the target store keeps it (keep).
type hasher struct {
	h    hash.Hash
	keep func(string) string
	buf  [8]byte
}

func newHasher(keep func(string) string) *hasher {
	if keep == nil {
		keep = func(s string) string { return s }
	}
	return &hasher{h: sha256.New(), keep: keep}
}

func (w *hasher) int(v int64) {
	binary.BigEndian.PutUint64(w.buf[:], uint64(v))
	w.h.Write(w.buf[:])
}

func (w *hasher) str(vs ...string) {
	for _, v := range vs {
		v = w.keep(v)
		w.int(int64(len(v)))
		w.h.Write([]byte(v))
	}
}

// time writes t to the microsecond (what both stores keep); zero apart.
func (w *hasher) time(ts ...time.Time) {
	for _, t := range ts {
		if t.IsZero() {
			w.int(math.MinInt64)
		} else {
			w.int(t.UnixMicro())
		}
	}
}

func (w *hasher) sum() (d [sha256.Size]byte) {
	copy(d[:], w.h.Sum(nil))
	return d
}

// sumRun sums rec up. withIDs: approval ids count (a copy into an empty
// store keeps them; a merge gives new ones).
func sumRun(rec store.RunRecord, keep func(string) string, withIDs bool) runSum {
	s := runSum{events: len(rec.Events), lastSeq: rec.LastSeq, approvals: len(rec.Approvals)}
	w := newHasher(keep)
	r := rec.Run
	w.str(r.ID, r.Plan, r.Env, r.Release, r.PreviousRelease, r.Requester, string(r.RequesterVia),
		r.RequesterOSUser, r.RequesterToken, r.Ticket, r.PlanHash, string(r.Artifacts), string(r.State), r.Reason)
	w.int(boolInt(r.Artifacts.Bound()))
	w.time(r.CreatedAt, r.UpdatedAt, r.StartedAt, r.FinishedAt)
	w.int(rec.LastSeq)
	w.str(rec.Lease.Holder)
	w.int(rec.Lease.Epoch)
	w.time(rec.Lease.Expires)
	w.int(int64(len(rec.Events)))
	for _, e := range rec.Events {
		w.int(e.Seq)
		w.time(e.Time)
		w.str(string(e.Kind), string(e.Action), e.Stage, e.Host, e.Step, e.Output, e.Message,
			e.Actor, string(e.ActorVia), e.ActorOSUser, e.ActorToken)
		w.int(int64(e.Batch))
		w.int(int64(e.Duration))
		if e.ExitCode == nil {
			w.int(math.MinInt64)
		} else {
			w.int(int64(*e.ExitCode))
		}
		s.maxSeq = e.Seq
	}
	w.int(int64(len(rec.Approvals)))
	for _, a := range rec.Approvals {
		if withIDs {
			w.int(a.ID)
		}
		w.str(a.Gate, a.Approver, string(a.Via), a.OSUser, a.Token, string(a.Decision), a.Comment,
			a.PlanHash, a.Release, a.Env, string(a.Artifacts))
		w.int(boolInt(a.Artifacts.Bound()))
		w.time(a.Time)
	}
	s.digest = w.sum()
	return s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func liveKey(l store.LiveRelease) string { return l.Plan + "\x00" + l.Env + "\x00" + l.Host }
func lockKey(l store.Lock) string        { return l.Plan + "\x00" + l.Env }

func sumLive(w *hasher, l store.LiveRelease) {
	w.str(l.Plan, l.Env, l.Host, l.Release, l.RunID)
	w.time(l.Since)
}

func sumLock(w *hasher, l store.Lock) {
	w.str(l.Plan, l.Env, l.RunID, l.Holder.Hostname, l.Holder.PIDSpace, l.Requester)
	w.int(int64(l.Holder.PID))
	w.time(l.AcquiredAt, l.HeartbeatAt)
}

// sameLive and sameLock compare records as the target keeps them.
func sameLive(keep func(string) string, a, b store.LiveRelease) bool {
	wa, wb := newHasher(keep), newHasher(keep)
	sumLive(wa, a)
	sumLive(wb, b)
	return wa.sum() == wb.sum()
}

func sameLock(keep func(string) string, a, b store.Lock) bool {
	wa, wb := newHasher(keep), newHasher(keep)
	sumLock(wa, a)
	sumLock(wb, b)
	return wa.sum() == wb.sum()
}

// plural is "1 run", "2 runs".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	if strings.HasSuffix(word, "ry") { // delivery, entry
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
