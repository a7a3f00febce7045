package store

import (
	"cmp"
	"time"
)

// LiveRelease is the release that is live on one host.
type LiveRelease struct {
	Plan    string
	Env     string
	Host    string
	Release string
	RunID   string    // the run that made it live
	Since   time.Time // when it was recorded live
}

// MajorityRelease returns the release live on the most hosts of live: ties go
// to the release that became live most recently (its newest Since), then to
// the greater release name, so the answer does not depend on map order. ""
// when live is empty.
func MajorityRelease(live map[string]LiveRelease) string {
	type tally struct {
		hosts  int
		newest time.Time
	}
	tallies := map[string]*tally{}
	for _, l := range live {
		t := tallies[l.Release]
		if t == nil {
			t = &tally{}
			tallies[l.Release] = t
		}
		t.hosts++
		if l.Since.After(t.newest) {
			t.newest = l.Since
		}
	}
	best, bestT := "", (*tally)(nil)
	for rel, t := range tallies {
		if bestT == nil {
			best, bestT = rel, t
			continue
		}
		c := cmp.Compare(t.hosts, bestT.hosts)
		if c == 0 {
			c = t.newest.Compare(bestT.newest)
		}
		if c == 0 {
			c = cmp.Compare(rel, best)
		}
		if c > 0 {
			best, bestT = rel, t
		}
	}
	return best
}
