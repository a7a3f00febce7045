package window

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day in minutes since midnight: 0 (00:00)
// to 1439 (23:59), or 1440 (24:00, the end of the day, only as a Range's To).
type Clock int

// EndOfDay is 24:00.
const EndOfDay Clock = 24 * 60

// String formats c as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// ParseHHMM parses a time of day written H:MM or HH:MM, from 00:00 to 23:59,
// or 24:00 for the end of the day.
func ParseHHMM(s string) (Clock, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if h == 24 && m == 0 {
		return EndOfDay, nil
	}
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("time of day %q: out of range 00:00..23:59 (or 24:00)", s)
	}
	return Clock(h*60 + m), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

var dayNames = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sun":    time.Sunday,
	"monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sunday": time.Sunday,
}

// ParseDay parses a day of the week: mon, tue, wed, thu, fri, sat, sun or
// the full English name, in any case.
func ParseDay(s string) (time.Weekday, error) {
	if d, ok := dayNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("day %q: want one of mon, tue, wed, thu, fri, sat, sun (or the full name)", s)
}

var freezeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"}

// ParseFreezeTime parses a freeze boundary written 2006-01-02T15:04,
// 2006-01-02T15:04:05 or 2006-01-02 (midnight) as a wall time in loc (nil
// means UTC), resolved as the package documentation describes.
func ParseFreezeTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range freezeLayouts {
		p, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		return wallInstant(locOrUTC(loc), p.Unix()), nil
	}
	return time.Time{}, fmt.Errorf("freeze time %q: want YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD", s)
}

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
