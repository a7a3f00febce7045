package window

import (
	"strings"
	"testing"
	"time"
)

func TestParseHHMM(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Clock
		err  string
	}{
		{in: "00:00", want: 0},
		{in: "20:00", want: 1200},
		{in: "23:59", want: 1439},
		{in: "8:05", want: 485},
		{in: " 07:30 ", want: 450},
		{in: "24:00", want: EndOfDay},
		{in: "24:01", err: "out of range"},
		{in: "23:60", err: "out of range"},
		{in: "25:00", err: "out of range"},
		{in: "2000", err: "want HH:MM"},
		{in: "20:0", err: "want HH:MM"},
		{in: "-1:00", err: "want HH:MM"},
		{in: "20:00:00", err: "want HH:MM"},
		{in: "", err: "want HH:MM"},
	} {
		got, err := ParseHHMM(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseHHMM(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseHHMM(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestClockString(t *testing.T) {
	for c, want := range map[Clock]string{0: "00:00", 485: "08:05", 1439: "23:59", EndOfDay: "24:00"} {
		if got := c.String(); got != want {
			t.Errorf("Clock(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestParseDay(t *testing.T) {
	for in, want := range map[string]time.Weekday{
		"mon": time.Monday, "Tue": time.Tuesday, "WED": time.Wednesday, "thu": time.Thursday,
		"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
		"Monday": time.Monday, "saturday": time.Saturday, "SUNDAY": time.Sunday,
	} {
		if got, err := ParseDay(in); err != nil || got != want {
			t.Errorf("ParseDay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "mo", "lundi", "weekday", "7"} {
		_, err := ParseDay(in)
		if err == nil || !strings.Contains(err.Error(), "mon, tue, wed, thu, fri, sat, sun") {
			t.Errorf("ParseDay(%q) error = %v, want one listing the valid names", in, err)
		}
	}
}

func TestParseFreezeTime(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	kolkata := mustLoad(t, "Asia/Kolkata")
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"2026-12-18T00:00", berlin, "2026-12-18 00:00 +0100"},
		{"2026-12-18T00:00:00", berlin, "2026-12-18 00:00 +0100"},
		{"2026-12-18", berlin, "2026-12-18 00:00 +0100"},
		{"2026-07-01T20:15", berlin, "2026-07-01 20:15 +0200"},
		{"2026-07-01T20:15", kolkata, "2026-07-01 20:15 +0530"},
		{"2026-07-01T20:15", nil, "2026-07-01 20:15 +0000"},
	} {
		got, err := ParseFreezeTime(c.in, c.loc)
		if err != nil || !got.Equal(instant(t, c.want)) {
			t.Errorf("ParseFreezeTime(%q, %v) = %v, %v; want %s", c.in, c.loc, got, err, c.want)
		}
	}
	got, err := ParseFreezeTime("2026-12-18T00:00:30", berlin)
	if err != nil || got.Second() != 30 {
		t.Errorf("ParseFreezeTime with seconds = %v, %v", got, err)
	}
	for _, in := range []string{"", "2026-12-18 00:00", "18.12.2026", "2026-13-01", "2026-12-18T25:00", "2026-12-18T00:00Z"} {
		if _, err := ParseFreezeTime(in, berlin); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Errorf("ParseFreezeTime(%q) error = %v, want one naming the formats", in, err)
		}
	}
}

func TestValidate(t *testing.T) {
	loc := mustLoad(t, "Europe/Berlin")
	good := &Window{Loc: loc, Open: []Range{{From: 0, To: EndOfDay}, {From: hm(22, 0), To: hm(2, 0)}},
		Freezes: []Freeze{freeze(t, loc, "2026-12-18", "2027-01-05", "")}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate of a good window = %v", err)
	}
	bad := &Window{Loc: loc,
		Open:    []Range{{From: EndOfDay, To: 0}, {From: 0, To: 2000}, {Days: []time.Weekday{9}}},
		Freezes: []Freeze{freeze(t, loc, "2027-01-05", "2026-12-18", "")},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate of a bad window = nil")
	}
	for _, want := range []string{"open[0]: from 24:00", "open[1]: to 33:20", "open[2]: day 9", "freeze[0]: from 2027-01-05 00:00 CET is not before"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not mention %q", err, want)
		}
	}
}
