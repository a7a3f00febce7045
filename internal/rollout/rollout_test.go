package rollout

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
)

func TestSplit(t *testing.T) {
	count := func(n int) *plan.Count { return &plan.Count{N: n} }
	size := func(n, pct int) *plan.Size { return &plan.Size{N: n, Percent: pct} }
	for _, tc := range []struct {
		name   string
		n      int
		canary *plan.Count
		batch  *plan.Size
		want   []int
	}{
		{"all at once", 5, nil, nil, []int{5}},
		{"canary then the rest", 5, count(1), nil, []int{1, 4}},
		{"canary then batches of 2", 5, count(1), size(2, 0), []int{1, 2, 2}},
		{"25% of 10 rounds up to 3", 10, nil, size(0, 25), []int{3, 3, 3, 1}},
		{"canary and percent of all hosts", 8, count(2), size(0, 50), []int{2, 4, 2}},
		{"canary larger than the stage", 2, count(5), size(1, 0), []int{2}},
		{"canary 0 is none", 3, count(0), size(1, 0), []int{1, 1, 1}},
		{"no hosts", 0, count(1), size(1, 0), nil},
		{"1% of 3 is at least 1", 3, nil, size(0, 1), []int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Split(tc.n, tc.canary, tc.batch); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Split(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

func TestFailureBudget(t *testing.T) {
	for _, tc := range []struct {
		n    int
		mf   *plan.Size
		want int
	}{
		{5, nil, 0}, {5, &plan.Size{N: 1}, 1}, {5, &plan.Size{Percent: 10}, 0}, {5, &plan.Size{Percent: 40}, 2}, {10, &plan.Size{Percent: 25}, 2},
	} {
		if got := FailureBudget(tc.n, tc.mf); got != tc.want {
			t.Errorf("FailureBudget(%d, %v) = %d, want %d", tc.n, tc.mf, got, tc.want)
		}
	}
}

const testPlan = `golive: 1
name: demo
vars:
  root: ${{ env.ROOT }}/app
  rel: ${{ vars.root }}/releases/${{ release.version }}
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: h1, roles: [web], vars: {port: "81"}}
    h2: {dir: h2, roles: [web], vars: {port: "82"}}
stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - name: unpack
        run: mkdir -p ${{ vars.rel }} && echo ${{ secrets.TOKEN }}
        backout: rm -rf ${{ vars.rel }}; echo back to ${{ release.previous }}
      - name: only-h2
        run: "true"
        backout: "true"
        when: host.name == "h2"
    health:
      - http: {url: "http://127.0.0.1:${{ host.vars.port }}/", contains: "${{ release.version }}"}
verify:
  - name: smoke
    on: web
    run: curl ${{ host.address }}
`

func loadPlan(t *testing.T, text string) *plan.Plan {
	t.Helper()
	file := filepath.Join(t.TempDir(), "golive.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(load.Options{File: file})
	if err != nil || res.Diags.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Diags)
	}
	return res.Plan
}

func TestBuild(t *testing.T) {
	p := loadPlan(t, testPlan)
	r, err := Build(Input{Plan: p, Release: "2.0", Previous: "1.9", Env: map[string]string{"ROOT": "/srv"}, Secrets: map[string]string{"TOKEN": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stages[0]
	if len(s.Batches) != 2 || !s.Batches[0].Canary || s.Batches[0].Hosts[0].Name != "h1" || s.Batches[1].Hosts[0].Name != "h2" {
		t.Fatalf("batches: %+v", s.Batches)
	}
	h1 := s.Batches[0].Hosts[0]
	if got, want := h1.Steps[0].Run, "mkdir -p /srv/app/releases/2.0 && echo tok"; got != want {
		t.Errorf("run = %q, want %q", got, want)
	}
	if got, want := h1.Steps[0].Backout, "rm -rf /srv/app/releases/2.0; echo back to 1.9"; got != want {
		t.Errorf("backout = %q, want %q", got, want)
	}
	if !h1.Steps[1].Skip || s.Batches[1].Hosts[0].Steps[1].Skip {
		t.Errorf("when: h1 must skip only-h2 and h2 must not")
	}
	if got := h1.Health[0].URL; got != "http://127.0.0.1:81/" || h1.Health[0].Contains != "2.0" || h1.Health[0].Status != 200 {
		t.Errorf("health = %+v", h1.Health[0])
	}
	if h1.Steps[0].Timeout != DefaultStepTimeout {
		t.Errorf("default timeout = %s", h1.Steps[0].Timeout)
	}
	v := r.Verify[0]
	if len(v.Targets) != 2 || len(v.PerTarget) != 2 || v.PerTarget[1].Run != "curl " {
		t.Errorf("verify per target: %+v", v.PerTarget)
	}
}

func TestBuildMissingSecret(t *testing.T) {
	p := loadPlan(t, testPlan)
	_, err := Build(Input{Plan: p, Release: "2.0", Env: map[string]string{"ROOT": "/srv"}})
	var req plan.SecretRequest
	if !errors.As(err, &req) || req.Name != "TOKEN" || !strings.Contains(err.Error(), "GOLIVE_SECRET_TOKEN") {
		t.Fatalf("want a missing-secret error naming GOLIVE_SECRET_TOKEN, got %v", err)
	}
}

func TestBuildMissingEnv(t *testing.T) {
	p := loadPlan(t, testPlan)
	_, err := Build(Input{Plan: p, Release: "2.0", Env: map[string]string{}, Secrets: map[string]string{"TOKEN": "t"}})
	if err == nil || !strings.Contains(err.Error(), `var "root": env.ROOT: ROOT is not set`) {
		t.Fatalf("an unset env var must not render as empty: %v", err)
	}
}
