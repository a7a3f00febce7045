package window

import "time"

// wallInstant returns the earliest instant at which the wall clock in loc
// shows the wall time w or later (see the package documentation). w is the
// wall time in Unix seconds as if loc were UTC.
func wallInstant(loc *time.Location, w int64) time.Time {
	// The instant we look for is w - offset; offsets lie within ±15 hours.
	const slack = 15 * 3600
	t := time.Unix(w-slack, 0).In(loc)
	for {
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		u := w - int64(off)
		if (start.IsZero() || u >= start.Unix()) && (end.IsZero() || u < end.Unix()) {
			return time.Unix(u, 0).In(loc)
		}
		if end.IsZero() || end.Unix() > w+slack {
			break
		}
		next := end.In(loc)
		_, nextOff := next.Zone()
		if u >= end.Unix() && w-int64(nextOff) < end.Unix() {
			// The clock jumps over w at end: end is the first instant
			// whose wall time is later than w.
			return next
		}
		t = next
	}
	// Not reached for real zones; fall back to Go's own resolution.
	u := time.Unix(w, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, loc)
}

// civil is a calendar date, held as midnight UTC of that date.
type civil struct{ t time.Time }

func civilOf(t time.Time, loc *time.Location) civil {
	y, m, d := t.In(loc).Date()
	return civil{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func (c civil) addDays(n int) civil   { return civil{c.t.Add(time.Duration(n) * 24 * time.Hour)} } // UTC days are 24h
func (c civil) weekday() time.Weekday { return c.t.Weekday() }
func (c civil) at(loc *time.Location, min Clock) time.Time {
	return wallInstant(loc, c.t.Unix()+int64(min)*60)
}
