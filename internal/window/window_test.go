package window

import (
	"strings"
	"testing"
	"time"
)

const instantLayout = "2006-01-02 15:04 -0700"

// instant parses "2006-01-02 15:04 -0700"; the explicit offset picks one
// of the two occurrences of a repeated wall time.
func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(instantLayout, s)
	if err != nil {
		t.Fatalf("bad instant %q: %v", s, err)
	}
	return v
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func days(ds ...time.Weekday) []time.Weekday { return ds }

func hm(h, m int) Clock { return Clock(h*60 + m) }

func freeze(t *testing.T, loc *time.Location, from, to, reason string) Freeze {
	t.Helper()
	f, err := ParseFreezeTime(from, loc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseFreezeTime(to, loc)
	if err != nil {
		t.Fatal(err)
	}
	return Freeze{From: f, To: u, Reason: reason}
}

// windowCase checks IsOpen, NextOpen and NextClose at one instant.
// nextOpen and nextClose are instants, "" for "t itself" (NextOpen of an
// open instant, NextClose of a closed one) or "never".
type windowCase struct {
	name      string
	w         *Window
	at        string
	open      bool
	nextOpen  string
	nextClose string
	why       string // if set, IsOpen's reason must contain it
}

func runWindowCases(t *testing.T, cases []windowCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := instant(t, c.at)
			open, why := c.w.IsOpen(at)
			if open != c.open {
				t.Errorf("IsOpen(%s) = %v (%s), want %v", c.at, open, why, c.open)
			}
			if c.why != "" && !strings.Contains(why, c.why) {
				t.Errorf("IsOpen(%s) reason = %q, want it to contain %q", c.at, why, c.why)
			}
			checkNext(t, "NextOpen", c.w.NextOpen, at, c.nextOpen)
			checkNext(t, "NextClose", c.w.NextClose, at, c.nextClose)
		})
	}
}

func checkNext(t *testing.T, name string, f func(time.Time) (time.Time, bool), at time.Time, want string) {
	t.Helper()
	got, ok := f(at)
	switch want {
	case "never":
		if ok {
			t.Errorf("%s(%s) = %s, want never", name, at.Format(instantLayout), got.Format(instantLayout))
		}
		return
	case "":
		want = at.Format(instantLayout)
	}
	if !ok || !got.Equal(instant(t, want)) {
		t.Errorf("%s(%s) = %s, %v; want %s", name, at.Format(instantLayout), got.Format(instantLayout), ok, want)
	}
}

func TestBerlinWindowAndFreeze(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	w := &Window{Loc: loc,
		Open:    []Range{{Days: days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday), From: hm(20, 0), To: hm(23, 30)}},
		Freezes: []Freeze{freeze(t, loc, "2026-12-18T00:00", "2027-01-05T00:00", "year-end freeze")},
	}
	runWindowCases(t, []windowCase{
		{name: "inside", w: w, at: "2026-11-30 21:00 +0100", open: true, nextClose: "2026-11-30 23:30 +0100",
			why: "open until Mon 2026-11-30 23:30 CET"},
		{name: "at opening", w: w, at: "2026-11-30 20:00 +0100", open: true, nextClose: "2026-11-30 23:30 +0100"},
		{name: "at closing", w: w, at: "2026-11-30 23:30 +0100", nextOpen: "2026-12-01 20:00 +0100"},
		{name: "weekend", w: w, at: "2026-11-28 12:00 +0100", nextOpen: "2026-11-30 20:00 +0100",
			why: "outside the release window; next opening Mon 2026-11-30 20:00 CET"},
		{name: "last evening before freeze", w: w, at: "2026-12-17 23:29 +0100", open: true, nextClose: "2026-12-17 23:30 +0100"},
		{name: "frozen in range hours", w: w, at: "2026-12-21 21:00 +0100", nextOpen: "2027-01-05 20:00 +0100",
			why: "frozen: year-end freeze (until 2027-01-05 00:00 CET)"},
		{name: "summer time", w: w, at: "2026-07-01 19:59 +0200", nextOpen: "2026-07-01 20:00 +0200"},
	})
}

func TestMidnightCrossing(t *testing.T) {
	w := &Window{Loc: time.UTC, Open: []Range{{Days: days(time.Saturday), From: hm(22, 0), To: hm(2, 0)}}}
	merged := &Window{Loc: time.UTC, Open: []Range{
		{Days: days(time.Friday), From: hm(18, 0), To: EndOfDay},
		{Days: days(time.Saturday), From: 0, To: 0}, // 24 hours
		{Days: days(time.Sunday), From: 0, To: hm(6, 0)},
	}}
	overlap := &Window{Loc: time.UTC, Open: []Range{
		{From: hm(22, 0), To: hm(2, 0)},
		{Days: days(time.Sunday), From: hm(1, 0), To: hm(3, 0)},
	}}
	runWindowCases(t, []windowCase{
		{name: "sun 01:00 open", w: w, at: "2026-11-29 01:00 +0000", open: true, nextClose: "2026-11-29 02:00 +0000"},
		{name: "sun 02:00 closed", w: w, at: "2026-11-29 02:00 +0000", nextOpen: "2026-12-05 22:00 +0000"},
		{name: "sat 21:59 closed", w: w, at: "2026-11-28 21:59 +0000", nextOpen: "2026-11-28 22:00 +0000"},
		{name: "sat 22:00 open", w: w, at: "2026-11-28 22:00 +0000", open: true, nextClose: "2026-11-29 02:00 +0000"},
		{name: "sat 23:59 open", w: w, at: "2026-11-28 23:59 +0000", open: true, nextClose: "2026-11-29 02:00 +0000"},
		{name: "sun 00:00 open", w: w, at: "2026-11-29 00:00 +0000", open: true, nextClose: "2026-11-29 02:00 +0000"},
		{name: "adjacent ranges merge", w: merged, at: "2026-11-27 19:00 +0000", open: true, nextClose: "2026-11-29 06:00 +0000"},
		{name: "adjacent ranges merge at midnight", w: merged, at: "2026-11-28 00:00 +0000", open: true, nextClose: "2026-11-29 06:00 +0000"},
		{name: "overlapping ranges merge", w: overlap, at: "2026-11-28 23:00 +0000", open: true, nextClose: "2026-11-29 03:00 +0000"},
		{name: "overlap on other days", w: overlap, at: "2026-11-30 01:00 +0000", open: true, nextClose: "2026-11-30 02:00 +0000"},
	})
}

func TestFreezes(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	daily := []Range{{From: hm(8, 0), To: hm(18, 0)}}
	w := &Window{Loc: loc, Open: daily, Freezes: []Freeze{
		freeze(t, loc, "2026-06-10T12:00", "2026-06-10T13:00", "lunch"),
		freeze(t, loc, "2026-06-11", "2026-06-13", "sale"),
		freeze(t, loc, "2026-06-20", "2026-06-20T10:30", "maintenance"),
	}}
	noRanges := &Window{Loc: loc, Freezes: w.Freezes}
	forever := &Window{Loc: loc, Open: daily, Freezes: []Freeze{freeze(t, loc, "2026-01-01", "2030-01-01", "")}}
	closedForGood := &Window{Loc: loc, Open: daily, Freezes: []Freeze{freeze(t, loc, "2026-06-01T20:00", "2030-01-01", "")}}
	runWindowCases(t, []windowCase{
		{name: "freeze begins mid-range", w: w, at: "2026-06-10 11:00 +0200", open: true, nextClose: "2026-06-10 12:00 +0200"},
		{name: "inside freeze inside range", w: w, at: "2026-06-10 12:30 +0200", nextOpen: "2026-06-10 13:00 +0200",
			why: "frozen: lunch (until 2026-06-10 13:00 CEST)"},
		{name: "freeze end reopens", w: w, at: "2026-06-10 13:00 +0200", open: true, nextClose: "2026-06-10 18:00 +0200"},
		{name: "NextOpen skips a freeze", w: w, at: "2026-06-10 19:00 +0200", nextOpen: "2026-06-13 08:00 +0200"},
		{name: "NextOpen at freeze end mid-range", w: w, at: "2026-06-20 07:00 +0200", nextOpen: "2026-06-20 10:30 +0200"},
		{name: "no ranges: open until freeze", w: noRanges, at: "2026-06-01 00:00 +0200", open: true, nextClose: "2026-06-10 12:00 +0200"},
		{name: "no ranges: frozen", w: noRanges, at: "2026-06-12 00:00 +0200", nextOpen: "2026-06-13 00:00 +0200"},
		{name: "no ranges after freezes", w: noRanges, at: "2026-07-01 00:00 +0200", open: true, nextClose: "never", why: "open"},
		{name: "never opens", w: forever, at: "2026-06-01 09:00 +0200", nextOpen: "never",
			why: "frozen (until 2030-01-01 00:00 CET)"},
		{name: "no opening within the horizon", w: closedForGood, at: "2026-06-01 19:00 +0200", nextOpen: "never",
			why: "outside the release window; no opening within the next two years"},
		{name: "open until a freeze for good", w: closedForGood, at: "2026-06-01 17:00 +0200", open: true, nextClose: "2026-06-01 18:00 +0200"},
	})
}

func TestAlwaysOpen(t *testing.T) {
	zero := &Window{}
	allDay := &Window{Loc: mustLoad(t, "Europe/Berlin"), Open: []Range{{From: 0, To: EndOfDay}}}
	runWindowCases(t, []windowCase{
		{name: "zero window", w: zero, at: "2026-03-29 02:30 +0000", open: true, nextClose: "never", why: "open"},
		{name: "00:00-24:00 every day, across DST", w: allDay, at: "2026-03-28 12:00 +0100", open: true, nextClose: "never"},
	})
}

func TestActiveFreeze(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	w := &Window{Loc: loc, Freezes: []Freeze{
		freeze(t, loc, "2026-12-18", "2027-01-05", "year-end"),
		freeze(t, loc, "2026-12-20", "2027-01-10", "audit"),
	}}
	if f := w.ActiveFreeze(instant(t, "2026-12-17 23:59 +0100")); f != nil {
		t.Errorf("ActiveFreeze before freezes = %+v, want nil", f)
	}
	if f := w.ActiveFreeze(instant(t, "2026-12-18 00:00 +0100")); f == nil || f.Reason != "year-end" {
		t.Errorf("ActiveFreeze at freeze start = %+v, want year-end", f)
	}
	if f := w.ActiveFreeze(instant(t, "2026-12-21 00:00 +0100")); f == nil || f.Reason != "audit" {
		t.Errorf("ActiveFreeze in overlap = %+v, want the longer audit", f)
	}
	if f := w.ActiveFreeze(instant(t, "2027-01-10 00:00 +0100")); f != nil {
		t.Errorf("ActiveFreeze at freeze end = %+v, want nil (freezes are [From, To))", f)
	}
}

func TestZones(t *testing.T) {
	kolkata := &Window{Loc: mustLoad(t, "Asia/Kolkata"), Open: []Range{{
		Days: days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday), From: hm(10, 0), To: hm(12, 0)}}}
	ny := &Window{Loc: mustLoad(t, "America/New_York"), Open: []Range{{Days: days(time.Tuesday), From: hm(21, 0), To: hm(1, 0)}}}
	runWindowCases(t, []windowCase{
		{name: "Kolkata open", w: kolkata, at: "2026-07-03 11:59 +0530", open: true, nextClose: "2026-07-03 12:00 +0530",
			why: "open until Fri 2026-07-03 12:00 IST"},
		{name: "Kolkata friday close", w: kolkata, at: "2026-07-03 12:00 +0530", nextOpen: "2026-07-06 10:00 +0530"},
		{name: "Kolkata seen from UTC", w: kolkata, at: "2026-07-03 04:30 +0000", open: true, nextClose: "2026-07-03 12:00 +0530"},
		{name: "New York crossing", w: ny, at: "2026-07-08 00:30 -0400", open: true, nextClose: "2026-07-08 01:00 -0400"},
		{name: "New York seen from Berlin", w: ny, at: "2026-07-08 03:00 +0200", open: true, nextClose: "2026-07-08 01:00 -0400"},
	})
}
