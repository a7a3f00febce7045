package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// hub fans journal events out to the live streams: one follower per run
// reads its journal (from the store, so runs executed by a CLI or another
// server are followed too) and every subscriber of that run is served
// from the follower's memory; no subscriber reads the database.
type hub struct {
	s *Server

	mu        sync.Mutex
	followers map[string]*follower

	// runs: the run-level changes of /api/v1/events.
	runsMu   sync.Mutex
	runsSeq  int64
	runsLog  []runChange
	runsWake chan struct{}
}

// follower is one run's journal as read so far.
type follower struct {
	mu     sync.Mutex
	events []encoded // in seq order, from 1 without gaps
	done   bool      // the run is terminal and its journal read to the end
	err    error     // the follower stopped on this
	wake   chan struct{}
	poke   chan struct{} // the run journaled something: read now
	subs   int
}

func newHub(s *Server) *hub {
	return &hub{s: s, followers: map[string]*follower{}, runsWake: make(chan struct{})}
}

// observe is told the events of runs executed here (the follower reads
// them from the store all the same; this only wakes it sooner).
func (h *hub) observe(ev store.Event) {
	h.mu.Lock()
	f := h.followers[ev.RunID]
	h.mu.Unlock()
	if f != nil {
		select {
		case f.poke <- struct{}{}:
		default: // a read is due already
		}
	}
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
// subscribes any more, or the server stops. It reads when told that the
// run executing here journaled something (poke), else every 150ms (a run
// executed by a CLI or another server).
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
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
	h.mu.Lock()
	if h.followers[id] == f {
		delete(h.followers, id) // a later subscriber reads the finished journal afresh
	}
	h.mu.Unlock()
}

// read appends the run's journal to f until the run is terminal and its
// journal read to the end (nil), or ctx ends.
func (h *hub) read(ctx context.Context, id, file string, f *follower) error {
	st, err := h.s.svc.OpenStore(ctx, file, release.StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	var after int64
	terminal := false
	for {
		events, err := st.Events(ctx, id, after)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			after = events[len(events)-1].Seq
			enc := make([]encoded, len(events))
			for i, ev := range events {
				enc[i] = encode(ev)
			}
			f.mu.Lock()
			f.events = append(f.events, enc...)
			close(f.wake)
			f.wake = make(chan struct{})
			f.mu.Unlock()
			continue
		}
		if terminal {
			return nil
		}
		run, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if run.State.Terminal() {
			// What a run journals after its last state (the lock
			// released) comes right after it: read once more, a moment
			// later.
			terminal = true
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.poke:
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// after returns the events after seq, whether the follower is done with
// nothing after them, and the channel closed at the next change.
func (f *follower) after(seq int64) ([]encoded, bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
	seq   int64
	frame []byte // id: SEQ, event: journal, data: the event
}

func encode(ev store.Event) encoded {
	data, _ := json.Marshal(EventJSON(ev))
	frame := fmt.Appendf(nil, "id: %d\nevent: journal\ndata: %s\n\n", ev.Seq, data)
	return encoded{seq: ev.Seq, frame: frame}
}
