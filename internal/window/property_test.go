package window

import (
	"math/rand"
	"testing"
	"time"
)

// Property tests: random windows in several zones, checked at random
// instants of 2026 and against a brute-force minute-by-minute scan.

var propertyZones = []string{
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Asia/Kolkata", "UTC", "America/Santiago", // Santiago changes clocks at midnight
}

var (
	yearStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	yearEnd   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

func randomInstant(r *rand.Rand, from, to time.Time) time.Time {
	return from.Add(time.Duration(r.Int63n(int64(to.Sub(from)/time.Second))) * time.Second)
}

// randomClock favours the small hours, where clocks change, and round
// times, where ranges meet.
func randomClock(r *rand.Rand) Clock {
	switch r.Intn(4) {
	case 0:
		return Clock(r.Intn(4 * 60))
	case 1:
		return Clock(r.Intn(24*4) * 15)
	default:
		return Clock(r.Intn(24 * 60))
	}
}

func randomWindow(r *rand.Rand, loc *time.Location) *Window {
	w := &Window{Loc: loc}
	for range r.Intn(4) {
		var rg Range
		if r.Intn(5) > 0 {
			for d := time.Sunday; d <= time.Saturday; d++ {
				if r.Intn(2) == 0 {
					rg.Days = append(rg.Days, d)
				}
			}
		}
		rg.From, rg.To = randomClock(r), randomClock(r)
		if r.Intn(8) == 0 {
			rg.To = EndOfDay
		}
		w.Open = append(w.Open, rg)
	}
	for range r.Intn(4) {
		from := randomInstant(r, yearStart, yearEnd).Truncate(time.Minute)
		length := time.Duration(1+r.Intn(20*24*4)) * 15 * time.Minute
		w.Freezes = append(w.Freezes, Freeze{From: from, To: from.Add(length), Reason: "random"})
	}
	return w
}

func isOpen(w *Window, t time.Time) bool {
	open, _ := w.IsOpen(t)
	return open
}

func TestPropertyNextOpenNextClose(t *testing.T) {
	r := rand.New(rand.NewSource(20261225))
	const windows, instants = 25, 60
	for _, zone := range propertyZones {
		loc := mustLoad(t, zone)
		for range windows {
			w := randomWindow(r, loc)
			for range instants {
				checkInstant(t, w, randomInstant(r, yearStart, yearEnd))
				if t.Failed() {
					t.Fatalf("window: %+v", *w)
				}
			}
		}
	}
}

func checkInstant(t *testing.T, w *Window, at time.Time) {
	t.Helper()
	open := isOpen(w, at)
	next, ok := w.NextOpen(at)
	switch {
	case !ok && open:
		t.Errorf("%v: open, but NextOpen reports never", at)
	case ok && next.Before(at):
		t.Errorf("%v: NextOpen = %v, before t", at, next)
	case ok && !isOpen(w, next):
		t.Errorf("%v: NextOpen = %v, which is closed", at, next)
	case ok && next.After(at) && isOpen(w, next.Add(-time.Nanosecond)):
		t.Errorf("%v: NextOpen = %v, but it was open just before", at, next)
	case ok && open && !next.Equal(at):
		t.Errorf("%v: open, but NextOpen = %v", at, next)
	}
	end, ok := w.NextClose(at)
	switch {
	case !open && (!ok || !end.Equal(at)):
		t.Errorf("%v: closed, but NextClose = %v, %v", at, end, ok)
	case open && ok && !end.After(at):
		t.Errorf("%v: open, but NextClose = %v is not after it", at, end)
	case open && ok && !isOpen(w, end.Add(-time.Nanosecond)):
		t.Errorf("%v: NextClose = %v, but it was closed just before", at, end)
	case open && ok && isOpen(w, end):
		t.Errorf("%v: NextClose = %v, but it is still open then", at, end)
	case open && !ok && !isOpen(w, at.AddDate(1, 0, 0)):
		t.Errorf("%v: NextClose reports never, but a year later it is closed", at)
	}
}

func TestPropertyBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	for _, zone := range propertyZones {
		loc := mustLoad(t, zone)
		// A random week, and two days around each change of offset.
		periods := []span{randomPeriod(r, randomInstant(r, yearStart, yearEnd), 7*24*time.Hour)}
		for _, c := range zoneChanges(loc, yearStart, yearEnd) {
			periods = append(periods, randomPeriod(r, c, 48*time.Hour))
		}
		for _, p := range periods {
			w := randomWindow(r, loc)
			if len(w.Open) == 0 {
				w.Open = []Range{{From: randomClock(r), To: randomClock(r)}}
			}
			b := brute{w: w, starts: map[[2]int64]time.Time{}}
			for u := p.start; u.Before(p.end); u = u.Add(time.Minute) {
				if got, want := isOpen(w, u), b.open(u); got != want {
					t.Fatalf("%s %v: IsOpen = %v, brute force says %v; window %+v", zone, u.In(loc), got, want, *w)
				}
			}
		}
	}
}

// randomPeriod returns a period of length d, minute-aligned, around mid.
func randomPeriod(r *rand.Rand, mid time.Time, d time.Duration) span {
	start := mid.Add(-d / 2).Add(time.Duration(r.Intn(120)-60) * time.Minute).Truncate(time.Minute)
	return span{start, start.Add(d)}
}

// zoneChanges returns the instants at which loc changes its offset.
func zoneChanges(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from.In(loc); t.Before(to); {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

// brute decides openness without the package's span machinery: a wall
// time is found by walking minute by minute to the first instant whose
// wall clock shows it or later.
type brute struct {
	w      *Window
	starts map[[2]int64]time.Time
}

func (b brute) open(u time.Time) bool {
	for _, f := range b.w.Freezes {
		if !u.Before(f.From) && u.Before(f.To) {
			return false
		}
	}
	lu := u.In(b.w.Loc)
	for back := 0; back <= 2; back++ {
		day := time.Date(lu.Year(), lu.Month(), lu.Day()-back, 0, 0, 0, 0, time.UTC)
		for _, r := range b.w.Open {
			if !dayListed(r.Days, day.Weekday()) {
				continue
			}
			endDay := day
			if r.To <= r.From {
				endDay = day.AddDate(0, 0, 1)
			}
			if !u.Before(b.wall(day, r.From)) && u.Before(b.wall(endDay, r.To)) {
				return true
			}
		}
	}
	return false
}

func dayListed(ds []time.Weekday, d time.Weekday) bool {
	if len(ds) == 0 {
		return true
	}
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// wall returns the first instant whose wall clock in the window's zone
// shows day at c or later.
func (b brute) wall(day time.Time, c Clock) time.Time {
	target := day.Add(time.Duration(c) * time.Minute).Unix()
	key := [2]int64{day.Unix(), int64(c)}
	if t, ok := b.starts[key]; ok {
		return t
	}
	t := time.Unix(target, 0).Add(-16 * time.Hour)
	for {
		_, off := t.In(b.w.Loc).Zone()
		if t.Unix()+int64(off) >= target {
			break
		}
		t = t.Add(time.Minute)
	}
	b.starts[key] = t
	return t
}
