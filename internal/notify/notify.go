// Package notify sends release communications: a POST to each
// webhook of the plan's notify list (golive's JSON, or a Slack or Teams
// message: format.go) for the events it asks for (go, no_go,
// waiting, started, succeeded, failed, backed_out, needs_attention,
// aborted). Delivery never holds a release up or fails it: it happens in
// the background, is retried a few times, and every delivery and failure
// is written to the run's journal. Webhook addresses may hold secrets and
// are never written anywhere.
package notify

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"text/template"
	"time"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// Payload is what a webhook receives.
type Payload struct {
	Event          string    `json:"event"`
	Plan           string    `json:"plan"`
	Environment    string    `json:"environment,omitempty"`
	Release        string    `json:"release"`
	Previous       string    `json:"previous,omitempty"`
	Run            string    `json:"run,omitempty"`
	State          string    `json:"state,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Requester      string    `json:"requester,omitempty"`
	Owner          string    `json:"owner,omitempty"`
	Contacts       []string  `json:"contacts,omitempty"`
	NeedsAttention []string  `json:"needs_attention,omitempty"`
	Time           time.Time `json:"time"`
	// Message is the channel's template rendered (format json with a
	// template only).
	Message string `json:"message,omitempty"`
}

// Attempts is how many times a delivery is tried.
const Attempts = 3

// Notifier delivers events; safe for concurrent use.
type Notifier struct {
	ro       *rollout.Rollout
	st       store.Store
	red      *redact.Redactor
	client   *http.Client
	owner    string
	contacts []string
	backoff  time.Duration

	mu      sync.Mutex
	sent    map[string]bool // event+run sent once
	queues  []chan Payload  // one per channel: deliveries in order
	closed  bool
	pending sync.WaitGroup

	tmu   sync.Mutex
	tmpls map[*rollout.Notify]*template.Template // parsed templates (format.go)
}

// New returns a Notifier for a rollout's notify list (nil when it has
// none: every method of a nil Notifier does nothing).
func New(ro *rollout.Rollout, st store.Store, red *redact.Redactor, owner string, contacts []string) *Notifier {
	if len(ro.Notify) == 0 {
		return nil
	}
	n := &Notifier{ro: ro, st: st, red: red, owner: owner, contacts: contacts, backoff: 500 * time.Millisecond,
		client: &http.Client{Timeout: 5 * time.Second}, sent: map[string]bool{}}
	for _, ch := range ro.Notify {
		q := make(chan Payload, 64)
		n.queues = append(n.queues, q)
		n.pending.Add(1)
		go func() {
			defer n.pending.Done()
			for p := range q {
				n.deliver(ch, p)
			}
		}()
	}
	return n
}

// Send delivers event for run (which may be nil before a run exists) to
// every channel that asks for it, in the background.
func (n *Notifier) Send(event string, run *store.Run, attention []string) {
	if n == nil {
		return
	}
	// Every free text of a webhook body passes the redactor here, however
	// the caller came by it.
	redacted := make([]string, len(attention))
	for i, a := range attention {
		redacted[i] = n.red.String(a)
	}
	if attention == nil {
		redacted = nil
	}
	p := Payload{Event: event, Plan: n.ro.Plan, Environment: n.ro.Env, Release: n.ro.Release, Previous: n.ro.Previous,
		Owner: n.owner, Contacts: n.contacts, NeedsAttention: redacted, Time: time.Now().UTC()}
	if run != nil {
		p.Run, p.State, p.Reason, p.Requester = run.ID, string(run.State), n.red.String(run.Reason), run.Requester
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	key := event + "/" + p.Run
	if n.sent[key] || n.closed {
		return
	}
	n.sent[key] = true
	for i, ch := range n.ro.Notify {
		if len(ch.On) > 0 && !slices.Contains(ch.On, event) {
			continue
		}
		select {
		case n.queues[i] <- p:
		default: // a channel this far behind is not worth holding a release for
			go n.journal(p, store.ActionFailed, fmt.Sprintf("%s: %s dropped: too many events waiting for delivery", ch.Name, event))
		}
	}
}

// events maps run states to the notify events they are.
var events = map[store.Action]string{
	"running": "started", "succeeded": "succeeded", "failed": "failed",
	"backed_out": "backed_out", "aborted": "aborted", "waiting": "waiting",
}

// Observe turns the engine's journal into events: state changes, and
// hosts needing attention (one event per run, listing them all, sent
// when the run ends).
func (n *Notifier) Observe(ev store.Event) {
	if n == nil || ev.Kind != store.KindState {
		return
	}
	run := store.Run{ID: ev.RunID, State: store.State(ev.Action), Reason: ev.Message}
	if e, ok := events[ev.Action]; ok {
		n.Send(e, &run, nil)
	}
	if ev.Action == "backout_failed" || ev.Action == "succeeded" {
		if att := n.attention(ev.RunID); len(att) > 0 {
			n.Send("needs_attention", &run, att)
		}
	}
}

// attention lists the needs_attention messages of a run's journal.
func (n *Notifier) attention(runID string) []string {
	events, err := n.st.Events(context.Background(), runID, 0)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range events {
		if e.Kind == store.KindRun && e.Action == "needs_attention" {
			out = append(out, e.Message)
		}
	}
	return out
}

func (n *Notifier) deliver(ch *rollout.Notify, p Payload) {
	body, warn := n.body(ch, p)
	if warn != "" {
		n.journal(p, store.ActionFailed, warn)
	}
	var last string
	for attempt := 1; attempt <= Attempts; attempt++ {
		last = n.post(ch.Webhook, body)
		if last == "" {
			n.journal(p, store.ActionPassed, fmt.Sprintf("%s: %s delivered", ch.Name, p.Event))
			return
		}
		if attempt < Attempts {
			time.Sleep(n.backoff * time.Duration(attempt))
		}
	}
	n.journal(p, store.ActionFailed, fmt.Sprintf("%s: %s not delivered after %d attempts: %s", ch.Name, p.Event, Attempts, last))
}

// post sends one request; "" means delivered (2xx). Errors never name
// the address, which may hold a secret.
func (n *Notifier) post(url string, body []byte) string {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "invalid webhook address"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "golive")
	resp, err := n.client.Do(req)
	if err != nil {
		return "request failed (" + n.red.String(errWithoutURL(err)) + ")"
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.Status
	}
	return ""
}

// errWithoutURL keeps the cause of a failed request but not its address.
func errWithoutURL(err error) string {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap().Error()
	}
	return "error"
}

func (n *Notifier) journal(p Payload, a store.Action, msg string) {
	if p.Run == "" || n.st == nil {
		return
	}
	n.st.AppendEvent(context.Background(), store.Event{RunID: p.Run, Kind: store.KindNotify, Action: a, Message: n.red.String(msg)})
}

// Close stops taking events and waits (at most d) for the deliveries
// still queued. It may be called more than once.
func (n *Notifier) Close(d time.Duration) {
	if n == nil {
		return
	}
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for _, q := range n.queues {
			close(q)
		}
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
