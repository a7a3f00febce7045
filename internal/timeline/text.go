package timeline

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/termsafe"
)

// esc makes s safe as the text of an element or the value of a quoted
// attribute: control characters, bidirectional overrides and invalid
// UTF-8 become visible escapes (termsafe), the characters XML does not
// allow at all (U+FFFE, U+FFFF) become U+FFFD, and & < > " ' become
// entities. Newlines and tabs stay (a <title> may have several lines).
func esc(s string) string {
	s = termsafe.String(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case 0xfffe, 0xffff:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// line is esc for one line of text: newlines and tabs escaped too.
func line(s string) string { return esc(termsafe.Line(s)) }

// clip shortens s (one line, unescaped) to at most n characters, ending
// with … when it had to.
func clip(s string, n int) string {
	s = termsafe.Line(s)
	if n < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// charW is the width of an average character of the 11px sans-serif
// font the picture uses, to decide what fits.
const charW = 6.4

// fits reports how many characters fit in w pixels.
func fits(w float64) int { return int(math.Floor((w - 4) / charW)) }

// dur writes a duration for people: 250ms, 1.5s, 2m05s, 1h02m.
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + dur(-d)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Seconds()), ".0") + "s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// tickSteps are the axis steps tried, smallest first.
var tickSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// tickStep is the smallest step that leaves at least minPx pixels
// between ticks over span drawn w pixels wide.
func tickStep(span time.Duration, w, minPx float64) time.Duration {
	for _, s := range tickSteps {
		if float64(s)/float64(span)*w >= minPx {
			return s
		}
	}
	return tickSteps[len(tickSteps)-1] * time.Duration(math.Ceil(float64(span)/float64(tickSteps[len(tickSteps)-1])/(w/minPx)))
}

// tickLabel writes an offset from the run's start at a tick: 0, 500ms,
// 1.5s, 30s, 1m30s, 2h.
func tickLabel(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".") + "s"
	case d < time.Hour:
		if d%time.Minute == 0 {
			return fmt.Sprintf("%dm", int(d.Minutes()))
		}
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
