package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// recorder keeps, in the order they happened, the journal events a store
// made durable and the actions a transport was asked to take.
type recorder struct {
	mu  sync.Mutex
	log []record
}

// record is a durable journal event (ev set) or an action on a host.
type record struct {
	ev     *store.Event
	host   string // action: the host it ran on ("" for the controller)
	script string // action: the script run, or "upload:"+To
}

func (r *recorder) add(rec record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, rec)
}

// recordingStore records every event appended, once it is durable.
type recordingStore struct {
	store.Store
	r *recorder
}

func (s *recordingStore) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	seq, err := s.Store.AppendEvent(ctx, e)
	if err == nil {
		e.Seq = seq
		s.r.add(record{ev: &e})
	}
	return seq, err
}

// recordingTransport records every command and upload before it starts.
type recordingTransport struct {
	transport.Transport
	r *recorder
}

func (t *recordingTransport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c, err := t.Transport.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	name := h.Name
	if name == "(controller)" {
		name = ""
	}
	return &recordingConn{Conn: c, r: t.r, host: name}, nil
}

type recordingConn struct {
	transport.Conn
	r    *recorder
	host string
}

func (c *recordingConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	c.r.add(record{host: c.host, script: cmd.Script})
	return c.Conn.Run(ctx, cmd)
}

func (c *recordingConn) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	c.r.add(record{host: c.host, script: "upload:" + u.To})
	return c.Conn.Upload(ctx, u)
}

// orderPlan uploads an artifact, runs two steps (b fails on h3 twice: it
// has one retry), checks health and verifies. All scripts differ, so an
// action names the step, backout or check it belongs to.
const orderPlan = `release:
  artifacts:
    app: {path: app.tar.gz}
stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 2}
    steps:
      - {name: up, upload: {artifact: app, to: releases/app.tar.gz}, backout: rm -f releases/app.tar.gz}
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - name: b
        run: 'echo b >> log; [ "$GOLIVE_HOST" != "$FAIL_ON" ]'
        retries: 1
        env: {FAIL_ON: "@FAIL@"}
        backout: echo undo-b >> log
    health:
      - {name: healthy, run: 'test -s log', timeout: 2s, interval: 50ms}
verify:
  - {name: smoke, local: true, run: 'echo smoke >> @ROOT@/verify.log', timeout: 2s}
`

// TestJournalBeforeAction: every command and upload golive makes on a
// host comes after the journal event that announces it is durable: a step
// attempt after its own "step started", a backout after its
// "backout_started", a check after "check started". Checked in process
// with a store and a transport that record the order of both.
func TestJournalBeforeAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fail string
		want store.State
	}{{"none", store.StateSucceeded}, {"h3", store.StateBackedOut}} {
		t.Run("fail="+tc.fail, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 3, strings.ReplaceAll(orderPlan, "@FAIL@", tc.fail))
			src := filepath.Join(f.root, "app.tar.gz")
			data := []byte("payload 2.0")
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			rec := &recorder{}
			e := f.engine(func(o *engine.Options) {
				o.Store = &recordingStore{Store: f.st, r: rec}
				o.Transports = map[string]transport.Transport{"local": &recordingTransport{r: rec,
					Transport: &local.Transport{Grace: 300 * time.Millisecond, WaitDelay: 300 * time.Millisecond}}}
				o.Artifacts = map[string]artifact.File{"app": {Path: src, SHA256: hex.EncodeToString(sum[:]), Checked: true}}
			})
			out := f.startWithin(e, 60*time.Second)
			if out.Run.State != tc.want {
				for _, ev := range f.events(out.Run.ID) {
					t.Logf("%s %s %s %s %s: %s", ev.Kind, ev.Action, ev.Stage, ev.Host, ev.Step, ev.Message)
				}
			}
			f.wantState(out, tc.want)
			checkJournalFirst(t, f, rec.log)
			// The wrapped store has no SetLiveMany: hosts are recorded one by one.
			live, err := f.st.Live(context.Background(), "t", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"h1", "h2", "h3"} {
				if want := map[bool]string{true: "2.0", false: "1.0"}[tc.fail == "none"]; live[h].Release != want {
					t.Errorf("%s live = %+v, want %s", h, live[h], want)
				}
			}
		})
	}
}

// announce is the journal event an action must follow.
type announce struct {
	kind   store.Kind
	action store.Action
	step   string
	many   bool // one event announces several actions (a check's attempts)
}

// checkJournalFirst fails the test for an action not preceded by its own
// journal event (each event of a step announces one action only).
func checkJournalFirst(t *testing.T, f *fixture, log []record) {
	t.Helper()
	want := map[string]announce{}
	for _, s := range f.ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				for _, st := range h.Steps {
					if st.Upload != nil {
						want["upload:"+st.Upload.To] = announce{store.KindStep, store.ActionStarted, st.Name, false}
					} else {
						want[st.Run] = announce{store.KindStep, store.ActionStarted, st.Name, false}
					}
					want[st.Backout] = announce{store.KindStep, engine.ActionBackoutStarted, st.Name, false}
				}
				for _, c := range h.Health {
					want[c.Run] = announce{store.KindCheck, store.ActionStarted, c.Name, true}
				}
			}
		}
	}
	for _, c := range f.ro.Verify {
		want[c.Run] = announce{store.KindCheck, store.ActionStarted, c.Name, true}
	}
	used := map[int64]bool{}
	actions := 0
	for i, rec := range log {
		if rec.ev != nil {
			continue
		}
		actions++
		a, ok := want[rec.script]
		if !ok {
			t.Errorf("action %d on %q: unknown script %q", i, rec.host, rec.script)
			continue
		}
		found := false
		for j := i - 1; j >= 0 && !found; j-- {
			ev := log[j].ev
			if ev == nil || ev.Kind != a.kind || ev.Action != a.action || ev.Host != rec.host || ev.Step != a.step {
				continue
			}
			if a.many || !used[ev.Seq] {
				used[ev.Seq], found = true, true
			}
		}
		if !found {
			t.Errorf("action %d (%s on %q) without its %s %s event before it:\n%s", i, rec.script, rec.host, a.kind, a.action, dump(log[:i+1]))
		}
	}
	if actions < 10 {
		t.Fatalf("only %d actions recorded: the recording transport was not used", actions)
	}
}

func dump(log []record) string {
	var b strings.Builder
	for i, r := range log {
		if r.ev != nil {
			fmt.Fprintf(&b, "%3d journal %s %s %s %s\n", i, r.ev.Kind, r.ev.Action, r.ev.Host, r.ev.Step)
		} else {
			fmt.Fprintf(&b, "%3d action  %s %q\n", i, r.host, r.script)
		}
	}
	return b.String()
}
