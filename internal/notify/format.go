package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
)

// The bodies a channel may ask for (notify.format).
const (
	FormatJSON  = "json"  // golive's Payload (the default)
	FormatSlack = "slack" // a Slack incoming-webhook message: {"text": ...}
	FormatTeams = "teams" // a Teams (Workflows) message holding an Adaptive Card
)

// maxMessage bounds a message's length in bytes (chat tools cut or refuse
// longer ones); what is cut is marked.
const maxMessage = 3000

// words are the events as a channel reads them.
var words = map[string]string{
	"go": "go", "no_go": "no-go", "waiting": "waiting", "started": "started", "succeeded": "succeeded",
	"failed": "failed", "backed_out": "backed out", "needs_attention": "needs attention", "aborted": "aborted",
}

// escaper makes a value (a host name, a reason: untrusted text) inert in
// a format: it cannot mention, link or restyle, nor start a line.
type escaper func(string) string

func escaperFor(format string) escaper {
	switch format {
	case FormatSlack:
		// Slack's mrkdwn: &, < and > are its control characters (<!channel>,
		// <@U1>, <http://x|y>); escaped, they print as themselves.
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
		return func(s string) string { return r.Replace(oneLine(s)) }
	case FormatTeams:
		// Adaptive Card TextBlocks read a CommonMark subset: a backslash makes
		// any ASCII punctuation literal ([x](url), **, _, <at>, {{DATE()}}).
		return func(s string) string {
			var b strings.Builder
			for _, r := range oneLine(s) {
				if strings.ContainsRune("\\`*_{}[]()<>#|~&", r) {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			return b.String()
		}
	}
	return func(s string) string { return s }
}

// oneLine keeps a value on one line and in reading order: a reason cannot
// forge a second message line in a channel, nor reverse the text around
// it. Control characters (C0, DEL, C1), line and paragraph separators and
// bidirectional controls become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029,
			r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return ' '
		}
		return r
	}, s)
}

// fields are a payload's values escaped for a format: what a template and
// the summary see.
func fields(p Payload, esc escaper) plan.NotifyFields {
	list := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = esc(s)
		}
		return out
	}
	f := plan.NotifyFields{Event: esc(p.Event), What: esc(words[p.Event]), Plan: esc(p.Plan), Environment: esc(p.Environment),
		Release: esc(p.Release), Previous: esc(p.Previous), Run: esc(p.Run), State: esc(p.State), Reason: esc(p.Reason),
		Requester: esc(p.Requester), Owner: esc(p.Owner), Contacts: list(p.Contacts), NeedsAttention: list(p.NeedsAttention),
		Time: p.Time.UTC().Format(time.RFC3339)}
	if f.What == "" {
		f.What = f.Event
	}
	f.Summary = summary(f)
	return f
}

// summary is golive's own message: "shop 2.4.1 to production: backed out
// (w3 failed health)".
func summary(f plan.NotifyFields) string {
	s := f.Plan + " " + f.Release
	if f.Environment != "" {
		s += " to " + f.Environment
	}
	s += ": " + f.What
	// The engine's reasons may start with the state ("backed out: ..."):
	// said once is enough.
	detail := strings.TrimPrefix(f.Reason, f.What+": ")
	if len(f.NeedsAttention) > 0 {
		detail = strings.Join(f.NeedsAttention, "; ")
	}
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s
}

// body builds what a channel receives for an event. warn, when not
// empty, says why the channel's template was not used (the journal gets
// it; the channel gets golive's summary instead).
func (n *Notifier) body(ch *rollout.Notify, p Payload) (body []byte, warn string) {
	if ch.Format == FormatJSON || ch.Format == "" {
		if ch.Template != "" {
			p.Message, warn = n.message(ch, fields(p, escaperFor(FormatJSON)))
		}
		body, _ = json.Marshal(p)
		return body, warn
	}
	msg, warn := n.message(ch, fields(p, escaperFor(ch.Format)))
	switch ch.Format {
	case FormatSlack:
		body, _ = json.Marshal(map[string]any{"text": msg})
	case FormatTeams:
		body, _ = json.Marshal(teamsCard(msg))
	}
	return body, warn
}

// message renders the channel's template, or golive's summary, redacted.
func (n *Notifier) message(ch *rollout.Notify, f plan.NotifyFields) (string, string) {
	msg, warn := f.Summary, ""
	if ch.Template != "" {
		t, err := n.template(ch)
		if err == nil {
			var b bytes.Buffer
			if err = t.Execute(&b, f); err == nil {
				msg = b.String()
			}
		}
		if err != nil {
			warn = fmt.Sprintf("%s: template not used (%s); sent golive's summary", ch.Name, err)
		}
	}
	msg = n.red.String(strings.TrimSpace(msg))
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8Start(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + " …(cut)"
	}
	return msg, warn
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// template returns a channel's parsed template (parsed once).
func (n *Notifier) template(ch *rollout.Notify) (*template.Template, error) {
	n.tmu.Lock()
	defer n.tmu.Unlock()
	if t, ok := n.tmpls[ch]; ok {
		return t, nil
	}
	t, probs := plan.ParseNotifyTemplate(ch.Template)
	if len(probs) > 0 {
		return nil, probs[0]
	}
	if n.tmpls == nil {
		n.tmpls = map[*rollout.Notify]*template.Template{}
	}
	n.tmpls[ch] = t
	return t, nil
}

// teamsCard is a Teams message holding one Adaptive Card with the text, as
// Teams' Workflows ("Post to a channel when a webhook request is
// received") and the older incoming webhooks accept.
func teamsCard(text string) map[string]any {
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    []any{map[string]any{"type": "TextBlock", "text": text, "wrap": true}},
			},
		}},
	}
}
