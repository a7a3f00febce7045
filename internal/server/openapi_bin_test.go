package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEveryDocumentedRoute calls every route of /api/v1/openapi.json on
// the real server, as an admin, and wants an answer the description
// documents for it (never an undocumented status).
func TestEveryDocumentedRoute(t *testing.T) {
	e := allPlans(t)
	s := e.serve("--tokens", e.tokens, e.dir)
	id := s.must(201, "POST", "/api/v1/runs", "dan", map[string]any{"plan": "shop", "release": "1.0"}).str("id")
	s.waitState(id, "succeeded")
	doc := s.must(200, "GET", "/api/v1/openapi.json", "", nil)
	if doc.str("openapi") != "3.1.0" {
		t.Fatalf("openapi: %s", doc.Raw[:200])
	}
	paths := doc.Body["paths"].(map[string]any)
	var keys []string
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	calls := 0
	for _, path := range keys {
		for method, op := range paths[path].(map[string]any) {
			responses := op.(map[string]any)["responses"].(map[string]any)
			url := strings.NewReplacer("{plan}", "shop", "{id}", id).Replace(path)
			if strings.HasSuffix(path, "/preview") {
				url += "?release=1.1"
			}
			var body []byte
			if path == "/api/v1/runs" && method == "post" {
				body, _ = json.Marshal(map[string]any{"plan": "shop", "release": "1.2"})
			}
			req, _ := http.NewRequest(strings.ToUpper(method), s.url+url, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret("root"))
			if path == "/api/v1/events" {
				req.Header.Set("Accept", "text/event-stream")
			}
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, url, err)
			}
			var raw []byte
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				raw, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
			}
			resp.Body.Close()
			if _, ok := responses[strconv.Itoa(resp.StatusCode)]; !ok {
				t.Errorf("%s %s: %d is not documented", method, url, resp.StatusCode)
			}
			if resp.StatusCode == 405 || strings.Contains(string(raw), "no such route") {
				t.Errorf("%s %s: %d: the route is not served", method, url, resp.StatusCode)
			}
			calls++
		}
	}
	if calls < 18 {
		t.Errorf("only %d routes called", calls)
	}
}
