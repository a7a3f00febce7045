package window

import (
	"testing"
	"time"
)

func TestBerlinDST2026(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	sun := days(time.Sunday)
	skipped := &Window{Loc: loc, Open: []Range{{Days: sun, From: hm(2, 30), To: hm(4, 0)}}}
	intoGap := &Window{Loc: loc, Open: []Range{{Days: sun, From: hm(1, 0), To: hm(2, 30)}}}
	inGap := &Window{Loc: loc, Open: []Range{{Days: sun, From: hm(2, 15), To: hm(2, 45)}}}
	overNight := &Window{Loc: loc, Open: []Range{{Days: days(time.Saturday), From: hm(23, 0), To: hm(3, 0)}}}
	runWindowCases(t, []windowCase{
		// Spring forward, 2026-03-29: 02:00 CET becomes 03:00 CEST.
		{name: "spring: skipped from starts at the change", w: skipped, at: "2026-03-29 01:59 +0100", nextOpen: "2026-03-29 03:00 +0200"},
		{name: "spring: open after the change", w: skipped, at: "2026-03-29 03:00 +0200", open: true, nextClose: "2026-03-29 04:00 +0200"},
		{name: "spring: skipped to ends at the change", w: intoGap, at: "2026-03-29 01:30 +0100", open: true, nextClose: "2026-03-29 03:00 +0200"},
		{name: "spring: closed after the change", w: intoGap, at: "2026-03-29 03:00 +0200", nextOpen: "2026-04-05 01:00 +0200"},
		{name: "spring: range inside the gap is empty", w: inGap, at: "2026-03-29 00:00 +0100", nextOpen: "2026-04-05 02:15 +0200"},
		{name: "spring: crossing range is an hour shorter", w: overNight, at: "2026-03-28 23:00 +0100", open: true, nextClose: "2026-03-29 03:00 +0200"},
		// Fall back, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:00-02:59 occurs twice.
		{name: "fall: first 02:10 is inside", w: intoGap, at: "2026-10-25 02:10 +0200", open: true, nextClose: "2026-10-25 02:30 +0200"},
		{name: "fall: second 02:10 is outside", w: intoGap, at: "2026-10-25 02:10 +0100", nextOpen: "2026-11-01 01:00 +0100"},
		{name: "fall: from is the first 02:30", w: skipped, at: "2026-10-25 02:29 +0200", nextOpen: "2026-10-25 02:30 +0200"},
		{name: "fall: second 02:00 is inside", w: skipped, at: "2026-10-25 02:00 +0100", open: true, nextClose: "2026-10-25 04:00 +0100"},
		{name: "fall: crossing range is an hour longer", w: overNight, at: "2026-10-25 02:30 +0100", open: true, nextClose: "2026-10-25 03:00 +0100"},
	})
}

func TestNewYorkDST2026(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	daily := func(from, to Clock) *Window { return &Window{Loc: loc, Open: []Range{{From: from, To: to}}} }
	gapOnly := &Window{Loc: loc, Open: []Range{{Days: days(time.Sunday), From: hm(2, 0), To: hm(3, 0)}}}
	runWindowCases(t, []windowCase{
		// Spring forward, 2026-03-08: 02:00 EST becomes 03:00 EDT.
		{name: "spring: range that is all gap is empty", w: gapOnly, at: "2026-03-08 00:00 -0500", nextOpen: "2026-03-15 02:00 -0400"},
		{name: "spring: to in the gap", w: daily(hm(1, 30), hm(2, 30)), at: "2026-03-08 01:45 -0500", open: true, nextClose: "2026-03-08 03:00 -0400"},
		{name: "spring: from in the gap", w: daily(hm(2, 30), hm(5, 0)), at: "2026-03-08 01:59 -0500", nextOpen: "2026-03-08 03:00 -0400"},
		{name: "spring: day after is normal", w: daily(hm(2, 30), hm(5, 0)), at: "2026-03-09 02:00 -0400", nextOpen: "2026-03-09 02:30 -0400"},
		// Fall back, 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00-01:59 occurs twice.
		{name: "fall: first 01:45 inside", w: daily(hm(1, 30), hm(3, 0)), at: "2026-11-01 01:45 -0400", open: true, nextClose: "2026-11-01 03:00 -0500"},
		{name: "fall: second 01:45 inside", w: daily(hm(1, 30), hm(3, 0)), at: "2026-11-01 01:45 -0500", open: true, nextClose: "2026-11-01 03:00 -0500"},
		{name: "fall: to is the first 01:30", w: daily(0, hm(1, 30)), at: "2026-11-01 01:15 -0400", open: true, nextClose: "2026-11-01 01:30 -0400"},
		{name: "fall: second 01:15 outside", w: daily(0, hm(1, 30)), at: "2026-11-01 01:15 -0500", nextOpen: "2026-11-02 00:00 -0500"},
	})
}

func TestLordHoweDST2026(t *testing.T) {
	loc := mustLoad(t, "Australia/Lord_Howe")
	daily := func(from, to Clock) *Window { return &Window{Loc: loc, Open: []Range{{From: from, To: to}}} }
	runWindowCases(t, []windowCase{
		// 2026-04-05: 02:00 +11 becomes 01:30 +1030; 01:30-01:59 occurs twice.
		{name: "april: before the first 01:45", w: daily(hm(1, 45), hm(3, 0)), at: "2026-04-05 01:44 +1100", nextOpen: "2026-04-05 01:45 +1100"},
		{name: "april: second 01:40 inside", w: daily(hm(1, 45), hm(3, 0)), at: "2026-04-05 01:40 +1030", open: true, nextClose: "2026-04-05 03:00 +1030"},
		{name: "april: to is the first 01:40", w: daily(hm(1, 0), hm(1, 40)), at: "2026-04-05 01:35 +1030", nextOpen: "2026-04-06 01:00 +1030"},
		// 2026-10-04: 02:00 +1030 becomes 02:30 +11.
		{name: "october: from in the half-hour gap", w: daily(hm(2, 10), hm(4, 0)), at: "2026-10-04 01:59 +1030", nextOpen: "2026-10-04 02:30 +1100"},
		{name: "october: range inside the gap is empty", w: daily(hm(2, 0), hm(2, 20)), at: "2026-10-04 01:00 +1030", nextOpen: "2026-10-05 02:00 +1100"},
	})
}

func TestFreezeTimeDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, c := range []struct{ in, want string }{
		{"2026-03-29T02:30", "2026-03-29 03:00 +0200"}, // skipped: the change
		{"2026-03-29T03:00", "2026-03-29 03:00 +0200"},
		{"2026-10-25T02:30", "2026-10-25 02:30 +0200"}, // repeated: the first
		{"2026-10-25T03:00", "2026-10-25 03:00 +0100"},
	} {
		got, err := ParseFreezeTime(c.in, berlin)
		if err != nil || !got.Equal(instant(t, c.want)) {
			t.Errorf("ParseFreezeTime(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}
