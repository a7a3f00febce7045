package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/rollout"
)

// A break-glass run is marked in every webhook body: the JSON payload's
// override field, and golive's summary (slack) starts with it; its reason
// is redacted and kept on one line.
func TestOverrideMarksEveryBody(t *testing.T) {
	js, chat := newRaw(t), newRaw(t)
	n, _, run := formatSetup(t, &rollout.Notify{Name: "json", Webhook: js.srv.URL},
		&rollout.Notify{Name: "chat", Webhook: chat.srv.URL, Format: FormatSlack})
	n.SetOverride("BREAK-GLASS: release window overridden by rita: CVE fix s3cr&t<\nALL CLEAR")
	backOut(n, run, "w3 failed health")
	bodies := js.all()
	if len(bodies) != 1 {
		t.Fatalf("json channel got %d bodies", len(bodies))
	}
	var p Payload
	if err := json.Unmarshal([]byte(bodies[0]), &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Override, "BREAK-GLASS: release window overridden by rita: CVE fix ***") || strings.Contains(p.Override, "s3cr&t") {
		t.Errorf("payload override = %q", p.Override)
	}
	msgs := chat.all()
	if len(msgs) != 1 {
		t.Fatalf("slack channel got %d bodies", len(msgs))
	}
	var m struct{ Text string }
	if err := json.Unmarshal([]byte(msgs[0]), &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "BREAK-GLASS: release window overridden by rita: CVE fix *** ALL CLEAR | shop 2.4.1 to production: backed out") {
		t.Errorf("slack text = %q", m.Text)
	}
}
