package plan

import (
	"strings"
	"testing"
)

func TestParseNotifyTemplate(t *testing.T) {
	for _, c := range []struct {
		text, want string // want: "" = valid, else "LINE:COL: message part"
	}{
		{text: `{{ .Summary }}`},
		{text: "{{ .Plan }} {{ .Release }}{{ with .Environment }} to {{ . }}{{ end }}\n{{ range .NeedsAttention }}- {{ . }}\n{{ end }}"},
		{text: `{{ if eq .Event "backed_out" }}<!here> {{ end }}{{ $.Plan }} {{ printf "%s" .Reason }} {{ join .Contacts ", " }}`},
		{text: `{{ $p := .Plan }}{{ $p }}`},
		{text: `{{ .Nope }}`, want: "1:4: unknown field .Nope"},
		{text: "ok\n  {{ $.Secret }}", want: "2:7: unknown field .Secret"},
		{text: `{{ .Plan.X }}`, want: "1:9: .Plan has no fields"},
		{text: `{{ $x := .Plan }}{{ $x.Y }}`, want: "1:23: $x.Y: only $.FIELD may be used"},
		{text: `{{ html .Plan }}`, want: `1:4: function "html" is not allowed`},
		{text: `{{ define "x" }}y{{ end }}{{ template "x" }}`, want: "not allowed in a notify template"},
		{text: `{{ env "HOME" }}`, want: `1:4: function "env" is not allowed`},
		{text: `{{ .Plan `, want: "1:1: unclosed action"},
		{text: `{{ range .Release }}{{ end }}`, want: "range can't iterate over"},
		{text: `${{ secrets.TOKEN }}`, want: "1:1: ${{ }} expressions are not evaluated"},
	} {
		_, probs := ParseNotifyTemplate(c.text)
		var got []string
		for _, p := range probs {
			got = append(got, p.Error())
		}
		all := strings.Join(got, "\n")
		switch {
		case c.want == "" && len(probs) > 0:
			t.Errorf("%q: want valid, got %s", c.text, all)
		case c.want != "" && !strings.Contains(all, c.want):
			t.Errorf("%q: want %q, got %q", c.text, c.want, all)
		}
	}
}
