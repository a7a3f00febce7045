package window

import (
	"slices"
	"time"
)

// horizonDays bounds the search of NextOpen and NextClose; horizonSteps
// are the growing numbers of days they compute, so that the common case
// (an answer within a week) stays cheap.
const horizonDays = 732

var horizonSteps = []int{5, 20, 80, 320, horizonDays + 2}

// span is the open interval [start, end).
type span struct{ start, end time.Time }

func (s span) contains(t time.Time) bool { return !t.Before(s.start) && t.Before(s.end) }

// openSpans returns the sorted, disjoint, maximal open periods that
// intersect the days from two days before t's date to days days later,
// freezes removed. Every opening that starts before cutoff is in spans; a
// span that ends at or after cutoff may go on longer than it says.
func (w *Window) openSpans(t time.Time, days int) (spans []span, cutoff time.Time) {
	loc := w.loc()
	d0 := civilOf(t, loc).addDays(-2)
	cutoff = d0.addDays(days).at(loc, 0)
	if len(w.Open) == 0 {
		spans = []span{{d0.at(loc, 0), cutoff}}
	} else {
		spans = merge(w.rangeSpans(d0, days))
	}
	return w.removeFreezes(spans), cutoff
}

// openIn returns the first instant at or after t in spans, if it is known
// to be the first: before cutoff.
func openIn(spans []span, cutoff, t time.Time) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(spans, t, func(s span, t time.Time) int {
		if s.end.After(t) {
			return 1
		}
		return -1
	})
	if i == len(spans) {
		return time.Time{}, false
	}
	at := spans[i].start
	if at.Before(t) {
		at = t
	}
	return at, at.Before(cutoff)
}

// closeIn reports whether t is in spans and, if so, the end of its span
// and whether that end is final: before cutoff.
func closeIn(spans []span, cutoff, t time.Time) (end time.Time, open, final bool) {
	for _, s := range spans {
		if s.contains(t) {
			return s.end, true, s.end.Before(cutoff)
		}
	}
	return time.Time{}, false, false
}

// rangeSpans returns the occurrences of every range that opens on one of
// the n days from d0, unsorted. Occurrences that are empty (a range inside
// a skipped hour) are left out.
func (w *Window) rangeSpans(d0 civil, n int) []span {
	loc := w.loc()
	var out []span
	for i := range n {
		day := d0.addDays(i)
		wd := day.weekday()
		for _, r := range w.Open {
			if len(r.Days) > 0 && !slices.Contains(r.Days, wd) {
				continue
			}
			endDay := day
			if r.To <= r.From {
				endDay = day.addDays(1)
			}
			s := span{day.at(loc, r.From), endDay.at(loc, r.To)}
			if s.start.Before(s.end) {
				out = append(out, s)
			}
		}
	}
	return out
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && !s.start.After(out[n-1].end) {
			if s.end.After(out[n-1].end) {
				out[n-1].end = s.end
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// removeFreezes cuts every freeze out of the sorted, disjoint spans.
func (w *Window) removeFreezes(spans []span) []span {
	for _, f := range w.Freezes {
		if !f.From.Before(f.To) || len(spans) == 0 ||
			!f.From.Before(spans[len(spans)-1].end) || !spans[0].start.Before(f.To) {
			continue // empty, or outside all spans
		}
		var out []span
		for _, s := range spans {
			if !f.From.Before(s.end) || !s.start.Before(f.To) {
				out = append(out, s) // no overlap
				continue
			}
			if s.start.Before(f.From) {
				out = append(out, span{s.start, f.From})
			}
			if f.To.Before(s.end) {
				out = append(out, span{f.To, s.end})
			}
		}
		spans = out
	}
	return spans
}
