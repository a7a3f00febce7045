package hatest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
)

// TestTakeoverTimes measures how long after a server is killed with
// SIGKILL another takes its run over (the takeover's journal time minus
// the kill's; the kill comes at a random point of two heartbeats after
// the run's step started), over GOLIVE_BENCH_KILLS kills (bench/store.sh; skipped
// without it), alternating which of two servers executes and dies. The
// lease settings come from GOLIVE_BENCH_HEARTBEAT and GOLIVE_BENCH_TTL
// (durations; default this suite's 300ms and 1.5s). It prints one line:
//
//	takeover kills=20 heartbeat=... ttl=... min=... p50=... p90=... max=...
func TestTakeoverTimes(t *testing.T) {
	kills, _ := strconv.Atoi(os.Getenv("GOLIVE_BENCH_KILLS"))
	if kills <= 0 {
		t.Skip("a benchmark: set GOLIVE_BENCH_KILLS (bench/store.sh)")
	}
	w := newWorld(t, 1, "", pgtest.DSN(t))
	for env, d := range map[string]*time.Duration{"GOLIVE_BENCH_HEARTBEAT": &w.heartbeat, "GOLIVE_BENCH_TTL": &w.ttl} {
		if v := os.Getenv(env); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil {
				t.Fatalf("%s: %v", env, err)
			}
		}
	}
	servers := []*server{w.serve("A"), w.serve("B")}
	var took []time.Duration
	for i := range kills {
		exec, other := servers[i%2], servers[(i+1)%2]
		w.arm("h1", 60, true)
		os.Remove(w.sync + "/at-h1")
		id := w.start(exec, fmt.Sprintf("1.%d", i))
		w.waitAt("h1", exec, other)
		// Kill at a random point of the heartbeat cycle.
		time.Sleep(time.Duration(rand.Int64N(int64(2 * w.heartbeat))))
		killed := time.Now()
		exec.kill()
		w.waitState(id, []*server{other}, "succeeded")
		_, events := w.journal(id)
		taken := takenOver(events)
		if len(taken) != 1 {
			t.Fatalf("kill %d: %d takeovers", i, len(taken))
		}
		took = append(took, taken[0].Time.Sub(killed))
		servers[i%2] = w.serve(fmt.Sprintf("%c%d", 'A'+i%2, i))
	}
	slices.Sort(took)
	q := func(p float64) time.Duration {
		return took[min(len(took)-1, int(p*float64(len(took))))].Round(time.Millisecond)
	}
	fmt.Printf("takeover kills=%d heartbeat=%s ttl=%s min=%s p50=%s p90=%s max=%s\n",
		len(took), w.heartbeat, w.ttl, took[0].Round(time.Millisecond), q(0.5), q(0.9), took[len(took)-1].Round(time.Millisecond))
}
