package check

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/promtest"
)

// TestMonitorAgainstPrometheus queries a real Prometheus server.
func TestMonitorAgainstPrometheus(t *testing.T) {
	p := promtest.Start(t)
	ctx := context.Background()
	ok, detail := Monitor(ctx, p.URL, "golive_test_value", "result < 1")
	if !ok || !strings.Contains(detail, "result 0") {
		t.Fatalf("healthy: %v %s", ok, detail)
	}
	p.Gauge.Set(5)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, detail = Monitor(ctx, p.URL, "golive_test_value", "${{ result < 1 }}")
		if !ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ok || !strings.Contains(detail, "result 5: result < 1 is false") {
		t.Fatalf("after the value rose: %v %s", ok, detail)
	}
	for query, want := range map[string]string{
		"nonexistent_metric":         "no data",
		"up or vector(1)":            "series",
		"this is not promql":         "prometheus query",
		"sum(golive_test_value) > 9": "no data",
	} {
		if ok, detail := Monitor(ctx, p.URL, query, "result < 1"); ok || !strings.Contains(detail, want) {
			t.Errorf("%s: %v %s, want %q", query, ok, detail, want)
		}
	}
	if ok, detail := Monitor(ctx, "http://127.0.0.1:1", "up", "result == 1"); ok || !strings.Contains(detail, "prometheus query") {
		t.Errorf("unreachable prometheus: %v %s", ok, detail)
	}
	// A compare side: NaN and infinities are no number to compare.
	if s := QuerySide(ctx, p.URL, "vector(1.5)", []string{"h1"}, []string{"10.0.0.1"}); s.Err != nil || s.Value != 1.5 {
		t.Errorf("side 1.5: %+v", s)
	}
	for _, q := range []string{"vector(0) / 0", "vector(1) / 0", "vector(-1) / 0"} {
		if s := QuerySide(ctx, p.URL, q, []string{"h1"}, []string{"10.0.0.1"}); s.Err == nil || !strings.Contains(s.Err.Error(), "not a number") {
			t.Errorf("side %s: %+v, want the error \"not a number to compare\"", q, s)
		}
	}
}
