package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// hub fans journal events out to the live streams: one follower per run
// holds its journal as delivered so far, and every subscriber of that run
// is served from the follower's memory; no subscriber reads the database.
//
// The events of a run this server executes are pushed: the engine tells
// the runner (observe) each event once it is durable in the journal, and
// the event goes to the subscribers at once, in seq order without gaps
// (an event ahead of a gap waits until the gap is read from the store).
// Everything else is read from the store by the follower's reader: the
// events this process did not see (a run executed by a CLI or another
// server, the state changes, what was journaled before the first
// subscriber came), woken by the store's notifications (PostgreSQL) or
// polling every readEvery while the run has subscribers (SQLite).
type hub struct {
	s *Server

	mu        sync.Mutex
	followers map[string]*follower

	// runs: the run-level changes of /api/v1/events.
	runsMu   sync.Mutex
	runsSeq  int64
	runsLog  []runChange
	runsWake chan struct{}
	runsPoke chan struct{} // a run executed here changed state: look now
}

// readEvery is how often a follower reads a store that does not notify
// (SQLite); with notifications (PostgreSQL) it still reads every
// readEveryNotified, in case one was lost with a connection.
var (
	readEvery         = 100 * time.Millisecond
	readEveryNotified = 2 * time.Second
)

// maxPending bounds the events pushed ahead of a gap; beyond it they are
// dropped and read from the store with the gap.
const maxPending = 4096

// follower is one run's journal as delivered so far.
//
// The frames of its events are kept end to end in one buffer (log), each
// encoded once for every subscriber: a subscriber that is behind writes
// all it has not sent yet with one Write, sharing the bytes (frames).
// The subscribers are woken at most once every wakeGap: the first event
// after a quiet moment wakes them at once, the events that follow it
// closely wake them together when wakeGap has passed (see add).
type follower struct {
	mu      sync.RWMutex      // the subscribers read under RLock, at once
	events  []encoded         // in seq order, from 1 without gaps
	log     []byte            // the frames of events, end to end (append only)
	pending map[int64]encoded // pushed ahead of a gap the reader fills
	done    bool              // the run is terminal and its journal read to the end
	err     error             // the follower stopped on this
	wake    chan struct{}
	woke    time.Time     // when wake was last closed
	due     bool          // a wake is scheduled (timer)
	poke    chan struct{} // read now: a gap, or a state change
	subs    int
	end     release.JournalEnd // what events has the run still to journal once terminal
}

// wakeGap is the least time between two wake-ups of a run's subscribers:
// each wake-up costs a write and a flush per subscriber, so a burst of
// events (a group commit answers many appends at once) is written with
// one, at most wakeGap late.
var wakeGap = 5 * time.Millisecond

func newHub(s *Server) *hub {
	return &hub{s: s, followers: map[string]*follower{}, runsWake: make(chan struct{}), runsPoke: make(chan struct{}, 1)}
}

// observe is told every event of the runs executed here once it is
// durable (the engine's Observer is called after the append returned).
// A journal event (Seq > 0) is delivered at once; a state change (the
// engine's observation carries no Seq: the store wrote that event) and
// an event ahead of a gap make the follower read the store.
func (h *hub) observe(ev store.Event) {
	if ev.Kind == store.KindState {
		select {
		case h.runsPoke <- struct{}{}:
		default:
		}
	}
	h.mu.Lock()
	f := h.followers[ev.RunID]
	h.mu.Unlock()
	if f == nil {
		return
	}
	if ev.Seq > 0 && plainText(ev) {
		enc := encode(asStored(ev))
		enc.at, enc.durable = ev.Time, time.Now()
		if h.s != nil {
			h.s.metrics.durable.Observe(enc.durable.Sub(ev.Time).Seconds())
		}
		if !f.add([]encoded{enc}) {
			return
		}
	}
	select {
	case f.poke <- struct{}{}:
	default: // a read is due already
	}
}

// poke makes run id's follower, if any, read the store now.
func (h *hub) poke(id string) {
	h.mu.Lock()
	f := h.followers[id]
	h.mu.Unlock()
	if f == nil {
		return
	}
	select {
	case f.poke <- struct{}{}:
	default: // a read is due already
	}
}

// plainText reports whether ev's text is stored as it is: a store may
// change NUL bytes and invalid UTF-8 (PostgreSQL's text holds neither),
// so such an event is read back from the store rather than pushed.
func plainText(ev store.Event) bool {
	for _, s := range []string{ev.Output, ev.Message, ev.Stage, ev.Host, ev.Step, ev.Actor} {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// asStored is ev as the store gives it back: times in UTC to the
// microsecond, output cut, identities filled; so that a live stream and
// a replay of the journal are the same bytes.
func asStored(ev store.Event) store.Event {
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	ev.Output = store.TailOutput(ev.Output)
	ev.FillIdentities()
	return ev
}

// last is the seq of the last event delivered.
func (f *follower) last() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.lastLocked()
}

func (f *follower) lastLocked() int64 {
	if len(f.events) == 0 {
		return 0
	}
	return f.events[len(f.events)-1].seq
}

// add delivers the events that come next (those already delivered are
// ignored; those ahead of a gap wait in pending) and wakes the
// subscribers. It reports whether a gap is left.
func (f *follower) add(evs []encoded) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.lastLocked()
	n := len(f.events)
	for _, ev := range evs {
		switch {
		case ev.seq <= last:
		case ev.seq == last+1:
			f.appendLocked(ev)
			last = ev.seq
		case len(f.pending) < maxPending:
			if f.pending == nil {
				f.pending = map[int64]encoded{}
			}
			f.pending[ev.seq] = ev
		}
	}
	for len(f.pending) > 0 {
		if ev, ok := f.pending[last+1]; ok {
			f.appendLocked(ev)
			delete(f.pending, ev.seq)
			last = ev.seq
			continue
		}
		for seq := range f.pending {
			if seq <= last {
				delete(f.pending, seq)
			}
		}
		break
	}
	if len(f.events) > n {
		f.wakeSoonLocked()
	}
	return len(f.pending) > 0
}

// appendLocked adds ev, the next event, its frame to the log.
func (f *follower) appendLocked(ev encoded) {
	ev.off = len(f.log)
	f.log = append(f.log, ev.frame...)
	ev.end = len(f.log)
	ev.frame = nil // the log holds it
	f.events = append(f.events, ev)
	f.end.See(store.Event{Kind: ev.kind, Action: ev.action})
}

// wakeSoonLocked wakes the subscribers now if they were not woken within
// wakeGap, else once wakeGap has passed (one wake-up for the events
// that came meanwhile).
func (f *follower) wakeSoonLocked() {
	if f.due {
		return // the scheduled wake-up takes these too
	}
	wait := wakeGap - time.Since(f.woke)
	if wait <= 0 {
		f.wakeLocked()
		return
	}
	f.due = true
	time.AfterFunc(wait, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.due = false
		f.wakeLocked()
	})
}

// wakeLocked wakes every subscriber waiting on wake.
func (f *follower) wakeLocked() {
	close(f.wake)
	f.wake = make(chan struct{})
	f.woke = time.Now()
}

// journalEnded reports whether a run in terminal state s has journaled
// all it will (release.JournalEnd).
func (f *follower) journalEnded(s store.State) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.end.Done(s, time.Now())
}

// frames is the frames of evs, consecutive events from after: their
// bytes end to end in the log, shared (not to be changed).
func (f *follower) frames(evs []encoded) []byte {
	if len(evs) == 0 {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.log[evs[0].off:evs[len(evs)-1].end:evs[len(evs)-1].end]
}

// subscribe returns the follower of run id of plan file, starting it if
// needed; unsubscribe when done.
func (h *hub) subscribe(id, file string) *follower {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.followers[id]
	if f == nil {
		f = &follower{wake: make(chan struct{}), poke: make(chan struct{}, 1)}
		h.followers[id] = f
		go h.follow(id, file, f)
	}
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	h.s.metrics.subscribers.Inc()
	return f
}

func (h *hub) unsubscribe(id string, f *follower) {
	h.s.metrics.subscribers.Dec()
	h.mu.Lock()
	defer h.mu.Unlock()
	f.mu.Lock()
	f.subs--
	last := f.subs == 0
	f.mu.Unlock()
	if last && h.followers[id] == f {
		delete(h.followers, id) // its goroutine ends at its next look
	}
}

// follow reads run id's journal until the run is terminal, or nobody
// subscribes any more, or the server stops.
func (h *hub) follow(id, file string, f *follower) {
	ctx, cancel := context.WithCancel(h.s.ctx)
	defer cancel()
	go func() { // nobody left: stop following
		for ctx.Err() == nil {
			time.Sleep(time.Second)
			h.mu.Lock()
			gone := h.followers[id] != f
			h.mu.Unlock()
			if gone {
				cancel()
			}
		}
	}()
	err := h.read(ctx, id, file, f)
	f.mu.Lock()
	f.done, f.err = err == nil, err
	f.wakeLocked()
	f.mu.Unlock()
	h.mu.Lock()
	if h.followers[id] == f {
		delete(h.followers, id) // a later subscriber reads the finished journal afresh
	}
	h.mu.Unlock()
}

// read adds to f what the store has after f's last event, until the run
// is terminal and its journal read to the end (nil), or ctx ends. It
// reads when poked, when the store notifies, and every readEvery.
func (h *hub) read(ctx context.Context, id, file string, f *follower) error {
	st, err := h.s.svc.OpenStore(ctx, file, release.StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	every := readEvery
	var notified <-chan struct{}
	if fl := store.FollowerOf(st); fl != nil {
		if ch, err := fl.Notify(ctx, id); err == nil {
			notified, every = ch, readEveryNotified
		}
	}
	terminal := false
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		events, err := st.Events(ctx, id, f.last())
		if err != nil {
			return err
		}
		if len(events) > 0 {
			enc := make([]encoded, len(events))
			for i, ev := range events {
				enc[i] = encode(ev)
			}
			f.add(enc)
			continue
		}
		if terminal {
			return nil
		}
		run, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if run.State.Terminal() && h.s.runs.busy(id) {
			// Executed here and its goroutine not done: what it journals
			// after its last state (the lock released) is still to come;
			// the goroutine's end pokes the follower (untrack).
		} else if run.State.Terminal() {
			// What a run journals after its last state (the lock
			// released) comes right after it: wait for the release
			// (bounded), then read once more, a moment later.
			wait := 50 * time.Millisecond
			if f.journalEnded(run.State) {
				terminal, wait = true, 300*time.Millisecond
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		t.Reset(every)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.poke:
		case <-notified:
		case <-t.C:
		}
	}
}

// after returns the events after seq, whether the follower is done with
// nothing after them, and the channel closed at the next change.
func (f *follower) after(seq int64) ([]encoded, bool, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	i := sort.Search(len(f.events), func(i int) bool { return f.events[i].seq > seq })
	out := f.events[i:]
	return out, f.done && len(out) == 0, f.wake
}

// runChange is one change of a run's state, for /api/v1/events.
type runChange struct {
	Seq int64
	Run store.Run
}

// watchRuns looks at the runs of every plan (one reader for all
// subscribers) and records the runs whose state changed.
func (h *hub) watchRuns(ctx context.Context) {
	seen := map[string]store.State{}
	first := true
	for ctx.Err() == nil {
		runs, _ := h.s.listRuns(ctx, runQuery{limit: 200})
		for _, r := range runs {
			if seen[r.ID] == r.State {
				continue
			}
			seen[r.ID] = r.State
			if !first {
				h.addChange(r)
			}
		}
		first = false
		select {
		case <-ctx.Done():
		case <-h.runsPoke:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (h *hub) addChange(r store.Run) {
	h.runsMu.Lock()
	defer h.runsMu.Unlock()
	h.runsSeq++
	h.runsLog = append(h.runsLog, runChange{Seq: h.runsSeq, Run: r})
	if len(h.runsLog) > 1000 {
		h.runsLog = h.runsLog[len(h.runsLog)-1000:]
	}
	close(h.runsWake)
	h.runsWake = make(chan struct{})
}

func (h *hub) changesAfter(seq int64) ([]runChange, <-chan struct{}) {
	h.runsMu.Lock()
	defer h.runsMu.Unlock()
	var out []runChange
	for _, c := range h.runsLog {
		if c.Seq > seq {
			out = append(out, c)
		}
	}
	return out, h.runsWake
}

func (h *hub) seqNow() int64 {
	h.runsMu.Lock()
	defer h.runsMu.Unlock()
	return h.runsSeq
}

// encoded is a journal event as its SSE message, encoded once for every
// subscriber.
type encoded struct {
	durable  time.Time // when it was pushed, durable (zero: read from the store)
	at       time.Time // its journal time, when pushed
	seq      int64
	frame    []byte // id: SEQ, event: journal, data: the event; until it is in the log
	off, end int    // where the frame is in the follower's log
	kind     store.Kind
	action   store.Action
}

func encode(ev store.Event) encoded {
	data, _ := json.Marshal(EventJSON(ev))
	frame := fmt.Appendf(nil, "id: %d\nevent: journal\ndata: %s\n\n", ev.Seq, data)
	return encoded{seq: ev.Seq, frame: frame, kind: ev.Kind, action: ev.Action}
}
