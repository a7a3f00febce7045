package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/termsafe"
	"github.com/golive-dev/golive/internal/ui"
)

// ownSGR is the only escape golive's colour output may hold: its own
// colours.
var ownSGR = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestColourOutputOnlyOwnEscapes: on a colour terminal the review and the
// rollout preview write raw (for their colours); the values they print are
// cleaned first (as renderReview and plan do), so the only escapes left are
// golive's own colours.
func TestColourOutputOnlyOwnEscapes(t *testing.T) {
	const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e"
	dir := t.TempDir()
	file := filepath.Join(dir, "golive.yaml")
	os.WriteFile(file, []byte(`golive: 1
name: colour
vars: {msg: hello}
targets:
  hosts:
    h1: {transport: local, dir: hosts/h1, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'echo ${{ vars.msg }}', backout: 'true'}
`), 0o644)
	res, err := load.Load(load.Options{File: file, Set: map[string]string{"msg": evil}})
	if err != nil || res.Plan == nil {
		t.Fatalf("load: %v %v", err, res.Diags)
	}
	ro, err := rollout.Build(rollout.Input{Plan: res.Plan, Release: "1.0"}) // a release cannot hold it (refused), a var can
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ui.RenderRollout(&b, termsafe.Clean(ro), ui.Style{Colour: true}); err != nil {
		t.Fatal(err)
	}
	rep := &review.Report{Plan: "p" + evil, Release: "1" + evil, Env: evil, Reasons: []string{evil},
		Items: []review.Item{{Kind: "targets", Name: "n" + evil, Host: "h" + evil, Detail: evil}}}
	ui.RenderReview(&b, termsafe.Clean(rep), ui.Style{Colour: true})
	rest := ownSGR.ReplaceAllString(b.String(), "")
	if loc := controlRE.FindStringIndex(rest); loc != nil {
		t.Errorf("raw %q in colour output:\n%s", rest[loc[0]:loc[1]], rest)
	}
	if !bytes.Contains(b.Bytes(), []byte(`\x1b]0;pwned\x07`)) {
		t.Errorf("the hostile value is not shown escaped:\n%s", b.String())
	}
}
