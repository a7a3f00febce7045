package notify

import (
	"context"
	"encoding/json"
	"io"
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

// raw is a real HTTP server that keeps the bodies it receives as they are.
type raw struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newRaw(t *testing.T) *raw {
	h := &raw{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || !json.Valid(b) {
			t.Errorf("not a JSON body: %s", b)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, string(b))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *raw) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

// hostile is a reason a target's output could produce: a Slack broadcast,
// a Slack link, a Markdown link, a Teams mention, styling, a second line
// and a secret.
const hostile = "w3 failed health: <!channel> <http://evil.example|click> [x](http://evil.example) <at>all</at> *bold*\nALL CLEAR s3cr&t< \u202egnp.exe"

func formatSetup(t *testing.T, channels ...*rollout.Notify) (*Notifier, store.Store, store.Run) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	run, err := st.CreateRun(context.Background(), store.Run{Plan: "shop", Env: "production", Release: "2.4.1", Requester: "rita"})
	if err != nil {
		t.Fatal(err)
	}
	ro := &rollout.Rollout{Plan: "shop", Env: "production", Release: "2.4.1", Previous: "2.4.0", Notify: channels}
	n := New(ro, st, redact.New("s3cr&t<"), "web-team", []string{"oncall@example.com"})
	n.backoff = time.Millisecond
	return n, st, run
}

func backOut(n *Notifier, run store.Run, reason string) {
	n.Observe(store.Event{RunID: run.ID, Kind: store.KindState, Action: "backed_out", Message: reason})
	n.Close(5 * time.Second)
}

func TestSlackMessageIsEscapedAndRedacted(t *testing.T) {
	h := newRaw(t)
	n, _, run := formatSetup(t, &rollout.Notify{Name: "chat", Webhook: h.srv.URL, Format: FormatSlack})
	backOut(n, run, hostile)
	got := h.all()
	if len(got) != 1 {
		t.Fatalf("bodies: %v", got)
	}
	var msg struct{ Text string }
	if err := json.Unmarshal([]byte(got[0]), &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Text, "shop 2.4.1 to production: backed out (w3 failed health: ") {
		t.Errorf("text %q: want the summary a channel reads", msg.Text)
	}
	for _, bad := range []string{"<!channel>", "<http", "<at>", "\n", "s3cr&t", "s3cr&amp;t", "\u202e"} {
		if strings.Contains(msg.Text, bad) {
			t.Errorf("slack text holds %q: %q", bad, msg.Text)
		}
	}
	if !strings.Contains(msg.Text, "&lt;!channel&gt;") || !strings.Contains(msg.Text, " ALL CLEAR") {
		t.Errorf("slack text %q: want the reason escaped on one line", msg.Text)
	}
}

func TestTeamsCardIsEscapedAndRedacted(t *testing.T) {
	h := newRaw(t)
	n, _, run := formatSetup(t, &rollout.Notify{Name: "teams", Webhook: h.srv.URL, Format: FormatTeams})
	backOut(n, run, hostile)
	got := h.all()
	if len(got) != 1 {
		t.Fatalf("bodies: %v", got)
	}
	var card struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Type string
				Body []struct{ Type, Text string }
			}
		}
	}
	if err := json.Unmarshal([]byte(got[0]), &card); err != nil {
		t.Fatal(err)
	}
	if card.Type != "message" || len(card.Attachments) != 1 || card.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		card.Attachments[0].Content.Type != "AdaptiveCard" || len(card.Attachments[0].Content.Body) != 1 {
		t.Fatalf("not a Teams Adaptive Card message: %s", got[0])
	}
	text := card.Attachments[0].Content.Body[0].Text
	if !strings.HasPrefix(text, "shop 2.4.1 to production: backed out (w3 failed health: ") {
		t.Errorf("text %q", text)
	}
	for _, bad := range []string{"<at>", "[x](", "*bold*", "\n", "s3cr", "\u202e"} {
		if strings.Contains(text, bad) {
			t.Errorf("teams text holds %q: %q", bad, text)
		}
	}
	if !strings.Contains(text, `\<at\>all\</at\>`) || !strings.Contains(text, `\[x\]\(http://evil.example\)`) {
		t.Errorf("teams text %q: want Markdown and mentions escaped", text)
	}
}

func TestTemplateGetsEscapedFields(t *testing.T) {
	h := newRaw(t)
	tmpl := `<!here> {{ .Plan }} {{ .Release }} ({{ .Environment }}): {{ .What }}{{ if .Reason }} because {{ .Reason }}{{ end }} cc {{ join .Contacts ", " }}`
	n, _, run := formatSetup(t, &rollout.Notify{Name: "chat", Webhook: h.srv.URL, Format: FormatSlack, Template: tmpl})
	backOut(n, run, "w3 <!channel> s3cr&t<")
	got := h.all()
	if len(got) != 1 {
		t.Fatalf("bodies: %v", got)
	}
	var msg struct{ Text string }
	json.Unmarshal([]byte(got[0]), &msg)
	// The template's own text is the plan author's (a deliberate <!here>);
	// the values are escaped and the secret hidden.
	want := "<!here> shop 2.4.1 (production): backed out because w3 &lt;!channel&gt; " + redact.Mask + " cc oncall@example.com"
	if msg.Text != want {
		t.Errorf("text\n %q\nwant\n %q", msg.Text, want)
	}
}

func TestJSONTemplateAddsMessage(t *testing.T) {
	h := newRaw(t)
	n, _, run := formatSetup(t,
		&rollout.Notify{Name: "plain", Webhook: h.srv.URL},
		&rollout.Notify{Name: "tmpl", Webhook: h.srv.URL + "/t", Template: "{{ .Summary }}!"})
	backOut(n, run, "w3 failed health")
	got := h.all()
	if len(got) != 2 {
		t.Fatalf("bodies: %v", got)
	}
	var plain, tmpl map[string]any
	for _, b := range got {
		var m map[string]any
		json.Unmarshal([]byte(b), &m)
		if _, ok := m["message"]; ok {
			tmpl = m
		} else {
			plain = m
		}
	}
	if plain == nil || plain["event"] != "backed_out" || plain["reason"] != "w3 failed health" {
		t.Errorf("default body changed: %v", got)
	}
	if tmpl == nil || tmpl["message"] != "shop 2.4.1 to production: backed out (w3 failed health)!" || tmpl["event"] != "backed_out" {
		t.Errorf("template body: %v", tmpl)
	}
}

// TestTemplateFailingAtRunTimeSendsTheSummary: a template valid at validate
// time can still fail on an event's values (an index out of range); the
// channel gets golive's summary and the journal says why.
func TestTemplateFailingAtRunTimeSendsTheSummary(t *testing.T) {
	h := newRaw(t)
	n, st, run := formatSetup(t, &rollout.Notify{Name: "chat", Webhook: h.srv.URL, Format: FormatSlack,
		Template: "first: {{ index .NeedsAttention 0 }}"})
	backOut(n, run, "w3 failed health")
	got := h.all()
	if len(got) != 1 || !strings.Contains(got[0], `"shop 2.4.1 to production: backed out (w3 failed health)"`) {
		t.Fatalf("bodies: %v", got)
	}
	events, _ := st.Events(context.Background(), run.ID, 0)
	found := false
	for _, e := range events {
		if e.Kind == store.KindNotify && strings.Contains(e.Message, "chat: template not used") && strings.Contains(e.Message, "index out of range") {
			found = true
		}
	}
	if !found {
		t.Errorf("journal does not say the template failed: %+v", events)
	}
}
