package release

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/store"
)

// ActionOverrides journals the --set overrides a run was started with, so
// resume, backout and abort use them too. The message is JSON (see
// storedOverrides), so values may hold newlines; journals written by older
// golives hold one NAME=VALUE a line.
const ActionOverrides store.Action = "overrides"

// storedOverrides is how a run's overrides are journaled. A value that
// holds a secret is stored redacted, with Parts to rebuild it from the
// secrets given again at resume: the secret itself is never stored.
type storedOverrides struct {
	Set []storedOverride `json:"set"`
}

type storedOverride struct {
	Name  string         `json:"name"`
	Value string         `json:"value"`           // the value, each secret in it replaced by ***
	Parts []overridePart `json:"parts,omitempty"` // set when the value holds a secret
}

// overridePart is a piece of a value: literal text, or a secret by name.
type overridePart struct {
	Text   string `json:"text,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// EncodeOverrides returns the journal message for set (NAME=VALUE each),
// with the secrets' values replaced by references to their names.
func EncodeOverrides(set []string, secrets map[string]string) string {
	var out storedOverrides
	red := redact.New()
	for _, v := range secrets {
		red.Add(v)
	}
	for _, kv := range set {
		name, value, _ := strings.Cut(kv, "=")
		o := storedOverride{Name: name, Value: red.String(value)}
		if parts := splitSecrets(value, secrets); len(parts) > 1 || (len(parts) == 1 && parts[0].Secret != "") {
			o.Parts = parts
		}
		out.Set = append(out.Set, o)
	}
	b, _ := json.Marshal(out) // strings only: always marshals
	return string(b)
}

// splitSecrets cuts value into text and secret references, taking the
// longest secret at each position.
func splitSecrets(value string, secrets map[string]string) []overridePart {
	names := make([]string, 0, len(secrets))
	for n, v := range secrets {
		if v != "" {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if li, lj := len(secrets[names[i]]), len(secrets[names[j]]); li != lj {
			return li > lj
		}
		return names[i] < names[j]
	})
	var parts []overridePart
	var text strings.Builder
	for i := 0; i < len(value); {
		matched := ""
		for _, n := range names {
			if strings.HasPrefix(value[i:], secrets[n]) {
				matched = n
				break
			}
		}
		if matched == "" {
			text.WriteByte(value[i])
			i++
			continue
		}
		if text.Len() > 0 {
			parts = append(parts, overridePart{Text: text.String()})
			text.Reset()
		}
		parts = append(parts, overridePart{Secret: matched})
		i += len(secrets[matched])
	}
	if text.Len() > 0 {
		parts = append(parts, overridePart{Text: text.String()})
	}
	return parts
}

// DecodeOverrides reads a journaled overrides message (JSON, or the older
// one NAME=VALUE a line) back into NAME=VALUE pairs, filling in secrets.
func DecodeOverrides(msg string, secrets map[string]string) ([]string, error) {
	stored, ok := parseOverrides(msg)
	if !ok {
		return strings.Split(msg, "\n"), nil // written by an older golive
	}
	var set []string
	for _, o := range stored.Set {
		value := o.Value
		if len(o.Parts) > 0 {
			var b strings.Builder
			for _, p := range o.Parts {
				if p.Secret == "" {
					b.WriteString(p.Text)
					continue
				}
				v, ok := secrets[p.Secret]
				if !ok {
					return nil, fmt.Errorf("--set %s holds secret %s: give it again (GOLIVE_SECRET_%s or --secrets-file)", o.Name, p.Secret, p.Secret)
				}
				b.WriteString(v)
			}
			value = b.String()
		}
		set = append(set, o.Name+"="+value)
	}
	return set, nil
}

func parseOverrides(msg string) (storedOverrides, bool) {
	var s storedOverrides
	if !strings.HasPrefix(msg, `{"set":`) || json.Unmarshal([]byte(msg), &s) != nil {
		return s, false
	}
	return s, true
}

// OverridesShown is how a journaled overrides message is shown: NAME=VALUE
// pairs, values quoted and with secrets redacted (red, when not nil, also
// catches secrets given at this command in a message from an older golive).
func OverridesShown(msg string, red *redact.Redactor) string {
	var pairs []string
	if stored, ok := parseOverrides(msg); ok {
		for _, o := range stored.Set {
			pairs = append(pairs, fmt.Sprintf("%s=%q", o.Name, red.String(o.Value)))
		}
	} else {
		for _, kv := range strings.Split(msg, "\n") {
			name, value, _ := strings.Cut(kv, "=")
			pairs = append(pairs, fmt.Sprintf("%s=%q", name, red.String(value)))
		}
	}
	return strings.Join(pairs, " ")
}

// recordOverrides journals a new run's --set overrides.
func recordOverrides(ctx context.Context, st store.Store, runID string, set []string, secrets map[string]string) {
	if len(set) > 0 {
		st.AppendEvent(ctx, store.Event{RunID: runID, Kind: store.KindRun, Action: ActionOverrides, Message: EncodeOverrides(set, secrets)})
	}
}

// runOverrides reads the --set overrides a run was started with; values
// that held secrets need them given again (Service.Secrets).
func (s *Service) runOverrides(ctx context.Context, st store.Store, runID string) ([]string, error) {
	events, err := st.Events(ctx, runID, 0)
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		if ev.Kind == store.KindRun && ev.Action == ActionOverrides {
			secrets, _, err := s.secrets()
			if err != nil {
				return nil, err
			}
			set, err := DecodeOverrides(ev.Message, secrets)
			if err != nil {
				return nil, &Error{Kind: Invalid, Msg: fmt.Sprintf("run %s: %s", runID, err), Err: err}
			}
			return set, nil
		}
	}
	return nil, nil
}
