package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// hook is a real HTTP server that records what it receives.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []Payload
	status int
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad request: %v", err)
		}
		h.mu.Lock()
		h.got = append(h.got, p)
		h.mu.Unlock()
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.got {
		out = append(out, p.Event)
	}
	return out
}

func setup(t *testing.T, channels ...*rollout.Notify) (*Notifier, store.Store, store.Run) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	run, err := st.CreateRun(context.Background(), store.Run{Plan: "shop", Release: "2.0", Requester: "rita"})
	if err != nil {
		t.Fatal(err)
	}
	ro := &rollout.Rollout{Plan: "shop", Release: "2.0", Previous: "1.9", Notify: channels}
	n := New(ro, st, redact.New("hunter2"), "web-team", []string{"oncall@example.com"})
	n.backoff = time.Millisecond
	return n, st, run
}

func TestEventsReachTheirChannels(t *testing.T) {
	all, failures := newHook(t, 200), newHook(t, 204)
	n, _, run := setup(t,
		&rollout.Notify{Name: "ops", Webhook: all.srv.URL},
		&rollout.Notify{Name: "pager", Webhook: failures.srv.URL, On: []string{"failed", "backed_out"}})
	n.Send("go", nil, nil)
	for _, state := range []string{"running", "failed", "backing_out", "backed_out", "backed_out"} {
		n.Observe(store.Event{RunID: run.ID, Kind: store.KindState, Action: store.Action(state), Message: "reason with hunter2"})
	}
	n.Close(5 * time.Second)
	if got := strings.Join(all.events(), ","); got != "go,started,failed,backed_out" {
		t.Errorf("ops got %s (each event once, in order of the run)", got)
	}
	if got := strings.Join(failures.events(), ","); got != "failed,backed_out" {
		t.Errorf("pager got %s, want only what it asked for", got)
	}
	p := all.got[3]
	if p.Plan != "shop" || p.Release != "2.0" || p.Previous != "1.9" || p.Run != run.ID || p.Owner != "web-team" || p.State != "backed_out" {
		t.Errorf("payload %+v", p)
	}
	if strings.Contains(p.Reason, "hunter2") {
		t.Errorf("a secret reached a webhook: %q", p.Reason)
	}
}

func TestFailedDeliveryIsJournaledWithoutTheAddress(t *testing.T) {
	broken := newHook(t, 500)
	secretURL := broken.srv.URL + "/T000/hunter2"
	n, st, run := setup(t, &rollout.Notify{Name: "ops", Webhook: secretURL})
	n.Observe(store.Event{RunID: run.ID, Kind: store.KindState, Action: "succeeded"})
	n.Close(5 * time.Second)
	if len(broken.events()) != Attempts {
		t.Errorf("tried %d times, want %d", len(broken.events()), Attempts)
	}
	events, _ := st.Events(context.Background(), run.ID, 0)
	var msgs []string
	for _, e := range events {
		if e.Kind == store.KindNotify {
			msgs = append(msgs, string(e.Action)+": "+e.Message)
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "failed: ops: succeeded not delivered after 3 attempts: 500") {
		t.Fatalf("journal: %v", msgs)
	}
	if strings.Contains(msgs[0], "hunter2") || strings.Contains(msgs[0], "T000") {
		t.Errorf("the webhook address (it may hold a secret) reached the journal: %s", msgs[0])
	}
}

func TestNeedsAttention(t *testing.T) {
	h := newHook(t, 200)
	n, st, run := setup(t, &rollout.Notify{Name: "ops", Webhook: h.srv.URL, On: []string{"needs_attention"}})
	st.AppendEvent(context.Background(), store.Event{RunID: run.ID, Kind: store.KindRun, Action: "needs_attention", Message: "web-3: backout of restart failed"})
	n.Observe(store.Event{RunID: run.ID, Kind: store.KindState, Action: "backout_failed"})
	n.Close(5 * time.Second)
	if len(h.got) != 1 || h.got[0].Event != "needs_attention" || len(h.got[0].NeedsAttention) != 1 {
		t.Fatalf("got %+v", h.got)
	}
}

func TestNoChannelsNoNotifier(t *testing.T) {
	var n *Notifier = New(&rollout.Rollout{}, nil, nil, "", nil)
	n.Send("go", nil, nil) // must not panic
	n.Observe(store.Event{Kind: store.KindState, Action: "running"})
	n.Close(time.Second)
}
