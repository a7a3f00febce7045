package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestChatFormatsThroughTheBinary: a failing release reaches a Slack, a
// Teams and a templated JSON channel (a real local HTTP receiver) as a
// sentence a channel reads; what the target printed (a Slack broadcast, a
// Markdown link, a Teams mention) is escaped for each format and the
// secret the target echoed is hidden. The run still exits 1.
func TestChatFormatsThroughTheBinary(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	c := newCLI(t, `golive: 1
name: shop
targets:
  hosts:
    w1: {transport: local, dir: hosts/w1, roles: [web]}
    w3: {transport: local, dir: hosts/w3, roles: [web]}
environments:
  production: {}
stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: 'echo "$GOLIVE_RELEASE" > current'
        backout: 'rm -f current'
    health:
      - name: health
        run: 'if [ "$GOLIVE_HOST" = w3 ]; then echo "<!channel> [x](http://evil.example) <at>all</at> ${{ secrets.TOKEN }}"; exit 1; fi'
        timeout: 1s
notify:
  - {name: slack, webhook: "`+srv.URL+`/slack", format: slack, on: [backed_out]}
  - {name: teams, webhook: "`+srv.URL+`/teams", format: teams, on: [backed_out]}
  - name: json
    webhook: "`+srv.URL+`/json"
    on: [backed_out]
    template: |
      {{ .Plan }} {{ .Release }} to {{ .Environment }}: {{ .What }}
      {{- if .Reason }} ({{ .Reason }}){{ end }}
`, map[string]string{})
	c.ExtraEnv = []string{"GOLIVE_SECRET_TOKEN=Zq7-s3cr3t"}
	c.MustExit(1, "run", "-r", "2.4.1", "--env", "production")
	mu.Lock()
	defer mu.Unlock()
	for path, bodies := range got {
		for _, b := range bodies {
			if strings.Contains(b, "Zq7-s3cr3t") {
				t.Errorf("%s: the secret reached the webhook: %s", path, b)
			}
		}
	}
	if len(got["/slack"]) != 1 || len(got["/teams"]) != 1 || len(got["/json"]) != 1 {
		t.Fatalf("want one backed_out per channel, got %v", got)
	}
	var slack struct{ Text string }
	json.Unmarshal([]byte(got["/slack"][0]), &slack)
	if !strings.HasPrefix(slack.Text, "shop 2.4.1 to production: backed out (") || !strings.Contains(slack.Text, "w3") {
		t.Errorf("slack text %q", slack.Text)
	}
	if strings.Contains(slack.Text, "<!channel>") || !strings.Contains(slack.Text, "&lt;!channel&gt;") {
		t.Errorf("slack text not escaped: %q", slack.Text)
	}
	var teams struct {
		Attachments []struct {
			Content struct{ Body []struct{ Text string } }
		}
	}
	json.Unmarshal([]byte(got["/teams"][0]), &teams)
	if len(teams.Attachments) != 1 || len(teams.Attachments[0].Content.Body) != 1 {
		t.Fatalf("teams body %s", got["/teams"][0])
	}
	text := teams.Attachments[0].Content.Body[0].Text
	if !strings.HasPrefix(text, "shop 2.4.1 to production: backed out ") || strings.Contains(text, "<at>") || strings.Contains(text, "[x](") {
		t.Errorf("teams text not escaped: %q", text)
	}
	var js map[string]any
	json.Unmarshal([]byte(got["/json"][0]), &js)
	msg, _ := js["message"].(string)
	if js["event"] != "backed_out" || !strings.HasPrefix(msg, "shop 2.4.1 to production: backed out (") {
		t.Errorf("json body %s", got["/json"][0])
	}
}
