package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

const secretValue = "S3CR3T-pa55-w0rd"

// secretPlan prints its secret in a step's output and its env.
const secretPlan = `golive: 1
name: sec
targets:
  defaults: {transport: local}
  hosts:
    s1: {dir: DIR}
stages:
  - name: all
    on: all
    steps:
      - name: leak
        run: 'echo "pw=$PW"; echo "pw=$PW" >&2'
        env: {PW: "${{ secrets.PW }}"}
`

// TestNoSecretInAnswers: a secret a step prints is in no answer of the
// API (preview, events as JSON and SSE, status, report) nor in the log.
func TestNoSecretInAnswers(t *testing.T) {
	e := newEnv(t, map[string]string{"sec": secretPlan})
	e.extraEnv = []string{"GOLIVE_SECRET_PW=" + secretValue}
	s := e.serve("--tokens", e.tokens, e.dir)
	preview := s.must(200, "GET", "/api/v1/plans/sec/preview?release=1.0", "vera", nil)
	if !strings.Contains(preview.Raw, "***") {
		t.Errorf("preview does not show the secret as ***: %s", preview.Raw)
	}
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "sec", "release": "1.0"}).str("id")
	stream := s.stream("/api/v1/runs/"+id+"/events", "vera", "")
	s.waitState(id, "succeeded")
	var all strings.Builder
	all.WriteString(preview.Raw)
	for _, m := range stream {
		all.WriteString(m.Data)
	}
	for _, path := range []string{"/api/v1/runs/" + id, "/api/v1/runs/" + id + "/events", "/api/v1/runs/" + id + "/report", "/api/v1/runs"} {
		all.WriteString(s.must(200, "GET", path, "vera", nil).Raw)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/runs/"+id+"/report", nil)
	req.Header.Set("Accept", "text/markdown")
	req.Header.Set("Authorization", "Bearer "+secret("vera"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		all.WriteString(string(b))
	}
	if !strings.Contains(all.String(), "pw=") {
		t.Fatalf("the step's output is not in the answers: the test shows nothing")
	}
	if strings.Contains(all.String(), secretValue) {
		t.Errorf("an answer carries the secret")
	}
	if strings.Contains(s.stderr.String(), secretValue) {
		t.Errorf("the log carries the secret")
	}
}
