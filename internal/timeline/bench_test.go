package timeline_test

import (
	"io"
	"testing"

	"github.com/golive-dev/golive/internal/timeline"
)

// BenchmarkRender500 draws the journal of a real release on 500 hosts
// (batches of 50; two hosts fail in the fifth, so everything is backed
// out): the aggregated picture the run page and the report show.
func BenchmarkRender500(b *testing.B) {
	events := fleetRun(b, 500, 50, "web-210", "web-230")
	b.Logf("%d journal events", len(events))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := timeline.Render(io.Discard, events, timeline.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender500Rows is BenchmarkRender500 with a row per host.
func BenchmarkRender500Rows(b *testing.B) {
	events := fleetRun(b, 500, 50, "web-210", "web-230")
	b.ResetTimer()
	for b.Loop() {
		if err := timeline.Render(io.Discard, events, timeline.Options{MaxRows: 1000}); err != nil {
			b.Fatal(err)
		}
	}
}
