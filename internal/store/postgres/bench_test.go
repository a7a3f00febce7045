package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// BenchmarkAppend measures journal appends on SQLite and PostgreSQL with
// 1, 50 and 500 concurrent appenders (hosts): appends/s and the p99
// latency of one append.
//
//	go test ./internal/store/postgres/ -run '^$' -bench Append -benchtime 2000x
func BenchmarkAppend(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, writers := range []int{1, 50, 500} {
			b.Run(fmt.Sprintf("%s/hosts=%d", kind, writers), func(b *testing.B) {
				var s store.Store
				if kind == "postgres" {
					s = open(b, pgtest.DSN(b))
				} else {
					st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
					if err != nil {
						b.Fatal(err)
					}
					defer st.Close()
					s = st
				}
				r, err := s.CreateRun(context.Background(), store.Run{Plan: "p", Release: "1"})
				if err != nil {
					b.Fatal(err)
				}
				lat := make([]time.Duration, b.N)
				var next int64
				var mu sync.Mutex
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range writers {
					wg.Go(func() {
						for {
							mu.Lock()
							i := next
							next++
							mu.Unlock()
							if i >= int64(b.N) {
								return
							}
							t0 := time.Now()
							if _, err := s.AppendEvent(context.Background(), store.Event{RunID: r.ID, Kind: "step",
								Action: "finished", Host: fmt.Sprint("h", w), Output: "ok\n"}); err != nil {
								b.Error(err)
								return
							}
							lat[i] = time.Since(t0)
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(b.N)/el.Seconds(), "appends/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}
