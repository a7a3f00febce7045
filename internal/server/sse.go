package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

func wantsSSE(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// afterSeq is the seq a reader has: ?after=, or Last-Event-ID when it
// resumes a stream.
func afterSeq(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" && wantsSSE(r) {
		v = id
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(fmt.Errorf("after: %s: want a journal seq (0 or more)", jsonQuote(v)))
	}
	return n, nil
}

// runEvents is the run's journal after a seq: as JSON (what `golive logs
// --json` prints), or live as server-sent events.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	after, err := afterSeq(r)
	if err != nil {
		return err
	}
	if wantsSSE(r) {
		return s.streamRun(w, r, run, p, after)
	}
	out := []release.EventJSON{}
	err = s.svc.Events(r.Context(), release.EventsOptions{Run: release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID}, After: after},
		func(ev store.Event) error {
			out = append(out, EventJSON(ev))
			return nil
		})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run.ID, "state": run.State, "events": out})
	return nil
}

// sse writes server-sent events.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

func (s *sse) send(id, event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		fmt.Fprintf(s.w, "id: %s\n", id)
	}
	_, err = fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

func (s *sse) comment(c string) error {
	_, err := fmt.Fprintf(s.w, ": %s\n\n", c)
	return err
}

func (s *sse) flush() error { return s.rc.Flush() }

// streamRun sends every journal event of the run after seq as it comes,
// from the run's one follower, then `event: end` once the run is
// terminal and its journal sent.
func (s *Server) streamRun(w http.ResponseWriter, r *http.Request, run store.Run, p *Plan, after int64) error {
	f := s.hub.subscribe(run.ID, p.File)
	defer s.hub.unsubscribe(run.ID, f)
	since := time.Now() // events pushed before are a backlog, not a delivery
	out := startSSE(w)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	sent := func(evs []encoded) {
		now := time.Now()
		for _, ev := range evs {
			if ev.durable.After(since) {
				s.metrics.delivery.Observe(now.Sub(ev.durable).Seconds())
				s.metrics.latency.Observe(now.Sub(ev.at).Seconds())
			}
		}
	}
	last, done := f.streamTo(r.Context(), after, out.w, out.flush, keepAlive.C, sent)
	if done {
		cur, _ := s.svc.Run(r.Context(), release.RunRef{Plan: release.PlanInput{File: p.File}, ID: run.ID})
		out.send("", "end", map[string]any{"run": run.ID, "state": cur.State, "seq": last})
		out.flush()
	}
	return nil
}

// streamTo writes the events of f after seq to w as they come, until f
// is done (it returns the last seq written and true, the frames written
// but not flushed) or a write fails or ctx ends (false). Whatever is
// pending when it looks is written with one Write of the shared frames
// and one flush, however far behind the stream is; sent is told each
// batch once it is flushed. A comment goes out on each keepAlive tick.
func (f *follower) streamTo(ctx context.Context, after int64, w io.Writer, flush func() error, keepAlive <-chan time.Time, sent func([]encoded)) (int64, bool) {
	for {
		events, done, wake := f.after(after)
		if len(events) > 0 {
			if _, err := w.Write(f.frames(events)); err != nil {
				return after, false
			}
			after = events[len(events)-1].seq
		}
		if done {
			return after, true
		}
		if len(events) > 0 {
			if flush() != nil {
				return after, false
			}
			sent(events)
			continue // the follower may have ended meanwhile: look again before waiting
		}
		select {
		case <-wake:
		case <-keepAlive:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || flush() != nil {
				return after, false
			}
		case <-ctx.Done():
			return after, false
		}
	}
}

// allEvents streams the run-level changes of every run the token may
// see: `event: run` with the run, id = a server-wide sequence.
func (s *Server) allEvents(w http.ResponseWriter, r *http.Request) error {
	if !wantsSSE(r) {
		return errf(http.StatusNotAcceptable, codeBadRequest, "this is a stream: send Accept: text/event-stream")
	}
	tok := callerOf(r).token
	var after int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, _ = strconv.ParseInt(id, 10, 64)
	} else {
		after = s.hub.seqNow() // from now on
	}
	s.metrics.subscribers.Inc()
	defer s.metrics.subscribers.Dec()
	out := startSSE(w)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		changes, wake := s.hub.changesAfter(after)
		for _, c := range changes {
			after = c.Seq
			if tok != nil && !tok.onPlan(c.Run.Plan) {
				continue
			}
			if out.send(strconv.FormatInt(c.Seq, 10), "run", runJSON(c.Run)) != nil {
				return nil
			}
		}
		if out.flush() != nil {
			return nil
		}
		select {
		case <-wake:
		case <-keepAlive.C:
			if out.comment("keep-alive") != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		}
	}
}
