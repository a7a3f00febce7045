package rollout

import (
	"strings"
	"testing"
)

// The checks a backout verifies are the stage's health checks rendered for
// the release restored: release.version is the previous release (also in
// vars that use it), release.previous the release backed out.
func TestBuildRestore(t *testing.T) {
	text := strings.Replace(testPlan, `contains: "${{ release.version }}"}`, `contains: "${{ release.version }} after ${{ release.previous }} in ${{ vars.rel }}"}`, 1)
	p := loadPlan(t, text)
	in := Input{Plan: p, Release: "2.0", Previous: "1.9", Env: map[string]string{"ROOT": "/srv"}, Secrets: map[string]string{"TOKEN": "t"}}
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if !r.VerifyBackout {
		t.Error("VerifyBackout is false; backout.verify defaults to true")
	}
	for _, b := range r.Stages[0].Batches {
		for _, h := range b.Hosts {
			if len(h.Restore) != 1 {
				t.Fatalf("%s: %d restore checks, want 1", h.Name, len(h.Restore))
			}
			c := h.Restore[0]
			if want := "1.9 after 2.0 in /srv/app/releases/1.9"; c.Contains != want {
				t.Errorf("%s: restore check contains %q, want %q", h.Name, c.Contains, want)
			}
			if want := "2.0 after 1.9 in /srv/app/releases/2.0"; h.Health[0].Contains != want {
				t.Errorf("%s: health check contains %q, want %q", h.Name, h.Health[0].Contains, want)
			}
			if !strings.HasPrefix(c.URL, "http://127.0.0.1:8") || c.Timeout != DefaultCheckTimeout {
				t.Errorf("%s: restore check %+v", h.Name, c)
			}
		}
	}

	// A first release has nothing to restore; backout.verify: false opts out.
	first := in
	first.Previous = ""
	if r, err := Build(first); err != nil || r.Stages[0].Batches[0].Hosts[0].Restore != nil {
		t.Errorf("first release: restore checks %v, %v; want none", r.Stages[0].Batches[0].Hosts[0].Restore, err)
	}
	in.Plan = loadPlan(t, text+"backout:\n  verify: false\n")
	if r, err := Build(in); err != nil || r.VerifyBackout || r.Stages[0].Batches[0].Hosts[0].Restore != nil {
		t.Errorf("backout.verify: false: VerifyBackout %v, restore checks %v, %v; want none", r.VerifyBackout, r.Stages[0].Batches[0].Hosts[0].Restore, err)
	}
}
