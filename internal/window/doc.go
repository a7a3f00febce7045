// Package window owns release windows: weekly open ranges in a time zone
// and dated freezes. It answers whether a release may run at an instant,
// and when the window next opens or closes. Everything here is a pure
// function of the time.Time it is given; nothing reads the system clock.
//
// # Semantics
//
//   - A Window with no Open ranges is always open, except during freezes.
//   - Freezes win over open ranges. A freeze covers [From, To).
//   - A Range opens on each listed day (every day when Days is empty) at
//     From and closes at To the same day. If To <= From the range crosses
//     midnight: it closes at To on the next day (so From == To is 24 hours).
//     To may be 24:00, the end of the day.
//   - Adjacent and overlapping ranges, including ranges continuing across
//     midnight, merge into one open period: NextClose reports the end of
//     the whole period, not of one range.
//
// # Wall times and daylight saving time
//
// Range times and freeze times are wall-clock times in the window's zone.
// A wall time W on a date means the earliest instant at which the zone's
// clock shows W or later. In practice:
//
//   - A wall time that occurs once is that instant.
//   - A wall time that occurs twice (the repeated hour when clocks go back)
//     is its first occurrence, for From and for To alike. Example, Berlin on
//     2026-10-25 (03:00 CEST becomes 02:00 CET): a range 01:00-02:30 runs
//     from 01:00 CEST to 02:30 CEST (1.5 hours), a range 02:30-04:00 runs
//     from 02:30 CEST to 04:00 CET (2.5 hours).
//   - A wall time that does not occur (the skipped hour when clocks go
//     forward) is the first valid instant after it, that is the instant of
//     the change. Example, Berlin on 2026-03-29 (02:00 CET becomes 03:00
//     CEST): a range 02:30-04:00 runs from 03:00 CEST to 04:00 CEST, and a
//     range 02:15-02:45 is empty that day.
//
// Go's time.Date resolves both cases differently (a skipped 02:30 becomes
// 03:30 CEST, a repeated 02:30 becomes the second one, CET), so this package
// does not use it for wall times: build freeze times with ParseFreezeTime.
//
// # Horizon
//
// NextOpen and NextClose look about two years ahead (Horizon). A window
// that does not open within it "never" opens, one that does not close
// within it "never" closes.
package window

import _ "time/tzdata" // zone data for machines without /usr/share/zoneinfo
