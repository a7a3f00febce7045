package review

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/promtest"
	"github.com/golive-dev/golive/internal/rollout"
)

// TestCompareMonitorReview: the review asks a real Prometheus for the
// baseline the run starts with (every host of the run, by address): a
// number is a go; no data is a no-go naming the hosts' count.
func TestCompareMonitorReview(t *testing.T) {
	fleet := promtest.StartFleet(t, []promtest.FleetHost{{Name: "web-1", Address: "10.9.0.1"}, {Name: "web-2", Address: "10.9.0.2"}},
		func(string) (float64, bool) { return 0.01, true })
	if err := fleet.WaitFor(`count(rate(golive_test_requests_total[4s]) > 0) == 2`, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	hosts := []*rollout.Host{{Name: "web-1", Address: "10.9.0.1"}, {Name: "web-2", Address: "10.9.0.2"}}
	ro := &rollout.Rollout{Stages: []*rollout.Stage{{Name: "web", Batches: []*rollout.Batch{{Index: 1, Hosts: hosts[:1]}, {Index: 2, Hosts: hosts[1:]}}}}}
	cmp := &rollout.Compare{Baseline: "untouched", MaxRatio: 1.5, MinSamples: 1}
	for _, c := range []struct {
		query, want string
		ok          bool
	}{
		{`count(golive_test_requests_total{addr=~"${{ hosts.regex }}"})`, "baseline of the run's 2 host(s): 2;", true},
		{`count(golive_test_requests_total{host=~"${{ hosts.names_regex }}"})`, "baseline of the run's 2 host(s): 2;", true},
		{`count(golive_test_requests_total{addr=~"${{ hosts.regex }}", host="web-9"})`, "baseline of the run's 2 host(s): prometheus query returned no data", false},
	} {
		r := &Report{}
		r.compareMonitor(context.Background(), Input{Rollout: ro}, &rollout.Monitor{Name: "m", URL: fleet.URL, Query: c.query, Compare: cmp})
		if len(r.Items) != 1 || r.Items[0].OK != c.ok || !strings.Contains(r.Items[0].Detail, c.want) {
			t.Errorf("%s: items %+v, want ok=%v with %q", c.query, r.Items, c.ok, c.want)
		}
	}
}
