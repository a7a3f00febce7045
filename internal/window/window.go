package window

import (
	"errors"
	"fmt"
	"time"
)

// Horizon is how far ahead NextOpen and NextClose look (about two years).
const Horizon = horizonDays * 24 * time.Hour

// Range is a weekly open period: on each of Days (every day when empty)
// from From until To, in the window's zone. To <= From crosses midnight.
type Range struct {
	Days     []time.Weekday
	From, To Clock
}

// Freeze is a period [From, To) during which the window is closed whatever
// its ranges say. From and To are instants; parse them with ParseFreezeTime
// in the window's zone.
type Freeze struct {
	From, To time.Time
	Reason   string
}

// Window is a release window. A zero Window is always open, in UTC.
type Window struct {
	Loc     *time.Location // nil means UTC
	Open    []Range
	Freezes []Freeze
}

// Validate reports every malformed range and freeze at once.
func (w *Window) Validate() error {
	var errs []error
	for i, r := range w.Open {
		if r.From < 0 || r.From >= EndOfDay {
			errs = append(errs, fmt.Errorf("open[%d]: from %s: want 00:00..23:59", i, r.From))
		}
		if r.To < 0 || r.To > EndOfDay {
			errs = append(errs, fmt.Errorf("open[%d]: to %s: want 00:00..24:00", i, r.To))
		}
		for _, d := range r.Days {
			if d < time.Sunday || d > time.Saturday {
				errs = append(errs, fmt.Errorf("open[%d]: day %d: not a weekday", i, d))
			}
		}
	}
	for i, f := range w.Freezes {
		if !f.From.Before(f.To) {
			errs = append(errs, fmt.Errorf("freeze[%d]: from %s is not before to %s",
				i, f.From.In(w.loc()).Format(stampLayout), f.To.In(w.loc()).Format(stampLayout)))
		}
	}
	return errors.Join(errs...)
}

const (
	stampLayout = "2006-01-02 15:04 MST"
	dayLayout   = "Mon 2006-01-02 15:04 MST"
)

func (w *Window) loc() *time.Location { return locOrUTC(w.Loc) }

// IsOpen reports whether a release may run at t, and why in words, e.g.
// "frozen: year-end freeze (until 2027-01-05 00:00 CET)",
// "outside the release window; next opening Mon 2026-11-30 20:00 CET" or
// "open until Mon 2026-11-30 23:30 CET".
func (w *Window) IsOpen(t time.Time) (open bool, why string) {
	if f := w.ActiveFreeze(t); f != nil {
		what := "frozen"
		if f.Reason != "" {
			what += ": " + f.Reason
		}
		return false, fmt.Sprintf("%s (until %s)", what, f.To.In(w.loc()).Format(stampLayout))
	}
	spans, cutoff := w.openSpans(t, horizonSteps[0])
	if end, open, final := closeIn(spans, cutoff, t); open {
		if !final {
			if end, final = w.NextClose(t); !final {
				return true, "open"
			}
		}
		return true, "open until " + end.In(w.loc()).Format(dayLayout)
	}
	next, ok := openIn(spans, cutoff, t)
	if !ok {
		if next, ok = w.NextOpen(t); !ok {
			return false, "outside the release window; no opening within the next two years"
		}
	}
	return false, "outside the release window; next opening " + next.In(w.loc()).Format(dayLayout)
}

// ActiveFreeze returns (a copy of) the freeze that covers t, or nil. When
// several do, it returns the one that lasts longest.
func (w *Window) ActiveFreeze(t time.Time) *Freeze {
	var best *Freeze
	for i := range w.Freezes {
		f := &w.Freezes[i]
		if !t.Before(f.From) && t.Before(f.To) && (best == nil || f.To.After(best.To)) {
			best = f
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

// NextOpen returns the first instant at or after t at which the window is
// open, in the window's zone. It reports false if the window does not
// open within Horizon.
func (w *Window) NextOpen(t time.Time) (time.Time, bool) {
	for _, days := range horizonSteps {
		spans, cutoff := w.openSpans(t, days)
		if at, ok := openIn(spans, cutoff, t); ok {
			return at.In(w.loc()), true
		}
	}
	return time.Time{}, false
}

// NextClose returns the end of the open period that contains t: the
// start of a freeze or the end of the (merged) ranges, whichever comes
// first, in the window's zone. If the window is closed at t it returns t.
// It reports false if the window does not close within Horizon.
func (w *Window) NextClose(t time.Time) (time.Time, bool) {
	for _, days := range horizonSteps {
		spans, cutoff := w.openSpans(t, days)
		end, open, final := closeIn(spans, cutoff, t)
		if !open {
			return t, true
		}
		if final {
			return end.In(w.loc()), true
		}
	}
	return time.Time{}, false
}
