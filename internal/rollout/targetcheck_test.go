package rollout

import (
	"strings"
	"testing"
)

// TestChecksReadHostVars: a preflight or verify check that runs on targets
// reads each target's host.vars (they were once rendered without a host
// first, which refused every host.vars.X).
func TestChecksReadHostVars(t *testing.T) {
	p := loadPlan(t, `golive: 1
name: demo
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web], vars: {port: "81", data: /srv/a}}
    h2: {dir: hosts/h2, roles: [web], vars: {port: "82", data: /srv/b}}
preflight:
  - {name: port, on: web, run: "echo ${{ host.vars.port }}"}
  - {name: space, on: web, disk: {path: "${{ host.vars.data }}", free: 1MiB}}
stages:
  - name: web
    on: web
    steps:
      - {name: a, run: "true", backout: "true"}
    health:
      - run: "true"
verify:
  - {name: up, on: web, http: {url: "http://127.0.0.1:${{ host.vars.port }}/"}}
`)
	r, err := Build(Input{Plan: p, Release: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Preflight[0].PerTarget {
		got = append(got, c.Run)
	}
	for _, c := range r.Facts[0].PerTarget {
		got = append(got, c.Fact.Path)
	}
	for _, c := range r.Verify[0].PerTarget {
		got = append(got, c.URL)
	}
	want := "echo 81|echo 82|/srv/a|/srv/b|http://127.0.0.1:81/|http://127.0.0.1:82/"
	if strings.Join(got, "|") != want {
		t.Errorf("per target: %s, want %s", strings.Join(got, "|"), want)
	}
	if r.Preflight[0].Run != "echo 81" || len(r.Preflight[0].Targets) != 2 {
		t.Errorf("shown: %+v", r.Preflight[0])
	}
}
