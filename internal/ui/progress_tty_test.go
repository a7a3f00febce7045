package ui

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// screen is a tiny terminal: it understands what Progress writes (\r, \n,
// cursor up, clear line, clear below, colours) and fails the test on a
// cursor movement above the first line it drew.
type screen struct {
	t     *testing.T
	rows  [][]rune
	row   int
	col   int
	moves int // cursor-up movements seen
}

var csiRE = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

func (s *screen) feed(out string) {
	for i := 0; i < len(out); {
		if m := csiRE.FindStringSubmatch(out[i:]); m != nil {
			s.csi(m[1], m[2])
			i += len(m[0])
			continue
		}
		ch, size := utf8.DecodeRuneInString(out[i:])
		i += size
		switch ch {
		case '\r':
			s.col = 0
		case '\n':
			s.row, s.col = s.row+1, 0
		default:
			s.put(ch)
		}
	}
}

func (s *screen) csi(arg, cmd string) {
	switch cmd {
	case "A":
		n, _ := strconv.Atoi(arg)
		s.moves++
		if s.row-n < 0 {
			s.t.Errorf("cursor moved up %d lines from line %d: above what was drawn", n, s.row)
		}
		s.row = max(0, s.row-n)
	case "K":
		if s.row < len(s.rows) {
			s.rows[s.row] = nil
		}
	case "J":
		if s.row < len(s.rows) {
			s.rows = s.rows[:s.row]
		}
	case "m":
	default:
		s.t.Errorf("unexpected escape sequence %q", cmd)
	}
}

func (s *screen) put(ch rune) {
	for len(s.rows) <= s.row {
		s.rows = append(s.rows, nil)
	}
	line := s.rows[s.row]
	for len(line) <= s.col {
		line = append(line, ' ')
	}
	line[s.col] = ch
	s.rows[s.row] = line
	s.col++
}

func (s *screen) lines() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// finalFrame returns the screen's lines before the failures section.
func finalFrame(t *testing.T, out string) (frame []string, s *screen) {
	s = &screen{t: t}
	s.feed(out)
	lines := s.lines()
	for i, l := range lines {
		if l == "Failures" {
			return lines[:max(0, i-1)], s
		}
	}
	return lines, s
}

func TestProgressTTYFinalFrame(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: true, Style: Style{Colour: true}})
	play(p, c, script())
	p.Close()
	if w := c.Waiters(); w != 0 {
		t.Errorf("%d timers still pending after Close: the redraw goroutine did not stop", w)
	}
	raw := out.String()
	if !strings.Contains(raw, "\x1b[32m✔") {
		t.Errorf("no coloured symbols in TTY output")
	}
	frame, s := finalFrame(t, raw)
	if s.moves == 0 {
		t.Errorf("never redrew in place")
	}
	want := []string{
		"shop-web → production  run r-1  release 1.4.2  backout_failed  elapsed 43s  1 host needs attention",
		"schema [....................] 0/1 hosts  batch 1/1  1 backout failed  done",
		"  host  1   1 migrate",
		"  db-1  !  needs attention",
		"web    [....................] 0/3 hosts  batch 2/2  3 backed out  FAILED",
		"  host   1 2 3  H   1 upload  2 switch  3 restart  H health",
		"  web-1  ↺ ↺ ↺  ✔  backed out",
		"  web-2  ↺ ↺ ·  ·  backed out",
		"  web-3  ↺ ↺ ↺  ·  backed out",
		"verify  · smoke test",
		"needs attention: db-1 (backout of migrate failed)",
	}
	if got := strings.Join(frame, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("final frame:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// The final frame is the last thing drawn before the failures section:
	// nothing of an earlier, taller frame is left below it.
	if len(frame) != len(want) {
		t.Errorf("screen has %d lines above the failures section, the frame %d", len(frame), len(want))
	}
}

func TestProgressTTYMidRun(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: true})
	s := script()
	n := 0
	for s[n].e.Action != store.ActionRetried {
		n++
	}
	play(p, c, s[:n+1]) // web-3 is retrying restart, web-2 finished upload
	p.Close()
	frame, _ := finalFrame(t, out.String())
	got := strings.Join(frame, "\n")
	for _, w := range []string{
		"schema [####################] 1/1 hosts  batch 1/1  done",
		"web    [######..............] 1/3 hosts  batch 2/2\n",
		"  web-1  ✔ ✔ ✔  ✔\n",
		"  web-2  ✔ · ·  ·\n",
		"  web-3  ✔ ✔ ▶  ·  restart (retrying, exit 1)\n",
	} {
		if !strings.Contains(got+"\n", w) {
			t.Errorf("frame lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(out.String(), "Failures") {
		t.Errorf("failures section with nothing failed")
	}
}

// bigRollout is one stage of n hosts in batches of 50.
func bigRollout(n int) *rollout.Rollout {
	s := &rollout.Stage{Name: "web", Hosts: n, HasHealth: true}
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			s.Batches = append(s.Batches, &rollout.Batch{Index: len(s.Batches) + 1})
		}
		b := s.Batches[len(s.Batches)-1]
		b.Hosts = append(b.Hosts, host(fmt.Sprintf("web-%03d", i+1), steps("upload", "switch", "restart"), "serves"))
	}
	return &rollout.Rollout{Plan: "big", Release: "2.0", Stages: []*rollout.Stage{s}}
}

func TestProgressTTYManyHostsBounded(t *testing.T) {
	for _, height := range []int{0, 20} {
		c := clock.NewFake(t0)
		var out bytes.Buffer
		p := NewProgress(&out, bigRollout(500), "r-big", ProgressOptions{Clock: c, TTY: true, Height: height})
		p.Observe(ev(store.KindStage, store.ActionStarted, "web", 0, "", ""))
		for b := 1; b <= 3; b++ {
			p.Observe(ev(store.KindBatch, store.ActionStarted, "web", b, "", ""))
			for i := (b-1)*50 + 1; i <= b*50; i++ {
				h := fmt.Sprintf("web-%03d", i)
				p.Observe(ev(store.KindHost, store.ActionStarted, "web", b, h, ""))
				if b < 3 {
					p.Observe(ev(store.KindHost, store.ActionFinished, "web", b, h, ""))
				}
			}
		}
		failed := ev(store.KindStep, store.ActionFailed, "web", 3, "web-150", "switch")
		failed.ExitCode = store.ExitCode(3)
		p.Observe(failed)
		p.Observe(ev(store.KindHost, store.ActionFailed, "web", 3, "web-150", ""))
		p.Close()
		frame, _ := finalFrame(t, out.String())
		limit := MaxProgressRows + 4
		if height > 0 {
			limit = height - 1
		}
		if len(frame) > limit {
			t.Errorf("height %d: frame has %d lines, want at most %d:\n%s", height, len(frame), limit, strings.Join(frame, "\n"))
		}
		got := strings.Join(frame, "\n")
		// The failed host is not done: 100 of 500 are.
		if !strings.Contains(got, "web    [####................] 100/500 hosts  batch 3/10  1 failed") &&
			!strings.Contains(got, "web [####................] 100/500 hosts  batch 3/10  1 failed") {
			t.Errorf("height %d: bar line wrong:\n%s", height, got)
		}
		if !strings.Contains(got, "  web-150  · ✘ ·  ·  switch failed, exit 3") {
			t.Errorf("height %d: the failed host is not shown:\n%s", height, got)
		}
		if !regexp.MustCompile(`\.\.\. and \d+ more hosts \(\d+ ok, \d+ running, 0 failed, 350 pending\)`).MatchString(got) {
			t.Errorf("height %d: no summary of the hidden hosts:\n%s", height, got)
		}
	}
}

func TestProgressTTYRedrawsAtMostEvery(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: true, RedrawEvery: time.Second})
	s := script()
	for _, st := range s[:10] {
		p.Observe(st.e) // no time passes: only the first event draws
	}
	if n := strings.Count(out.String(), "shop-web"); n != 1 || strings.Contains(out.String(), "A\r") {
		t.Errorf("drew %d frames without time passing, want 1:\n%q", n, out.String())
	}
	first := out.Len()
	c.BlockUntil(1)
	c.Advance(time.Second) // the redraw goroutine draws the events that came too soon
	c.BlockUntil(1)
	if out.Len() == first {
		t.Errorf("the redraw goroutine did not draw pending changes")
	}
	frame, _ := finalFrame(t, out.String())
	if !strings.Contains(strings.Join(frame, "\n"), "db-1  ✔") {
		t.Errorf("redrawn frame lacks the finished step:\n%s", strings.Join(frame, "\n"))
	}
	second := out.Len()
	c.Advance(time.Second) // nothing changed but the elapsed time
	c.BlockUntil(1)
	if out.Len() == second {
		t.Errorf("elapsed time was not redrawn")
	}
	third := out.Len()
	c.Advance(500 * time.Millisecond) // elapsed time shows whole seconds: no redraw
	p.Close()
	if !strings.Contains(out.String()[third:], "shop-web") {
		t.Errorf("Close did not draw the final frame")
	}
	if n := strings.Count(out.String(), "shop-web"); n != 4 {
		t.Errorf("%d frames drawn, want 4", n)
	}
}

func TestProgressConcurrentObserve(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var out syncBuffer
		r := bigRollout(200)
		p := NewProgress(&out, r, "r-c", ProgressOptions{Clock: clock.Real(), TTY: tty, RedrawEvery: time.Millisecond})
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < 200; i += 8 {
					h := fmt.Sprintf("web-%03d", i+1)
					b := i/50 + 1
					p.Observe(ev(store.KindHost, store.ActionStarted, "web", b, h, ""))
					for _, e := range stepDone("web", b, h, "upload", time.Millisecond) {
						p.Observe(e.e)
					}
					p.Observe(ev(store.KindHost, store.ActionFinished, "web", b, h, ""))
				}
			}()
		}
		wg.Wait()
		p.Close()
		p.Observe(ev(store.KindHost, store.ActionStarted, "web", 1, "web-001", "")) // ignored after Close
		if tty {
			frame, _ := finalFrame(t, out.String())
			if !strings.Contains(strings.Join(frame, "\n"), "200/200 hosts") {
				t.Errorf("final frame does not count every host:\n%s", strings.Join(frame, "\n"))
			}
		} else if n := strings.Count(out.String(), "\n"); n != 200*4 {
			t.Errorf("%d lines, want %d", n, 200*4)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCutVisible(t *testing.T) {
	st := Style{Colour: true}
	s := "ab" + st.Red("cdef") + "gh"
	if got := stripANSI(cutVisible(s, 5)); got != "abcd…" {
		t.Errorf("cut to %q", got)
	}
	if got := cutVisible(s, 5); !strings.HasSuffix(got, reset) {
		t.Errorf("cut inside colour without reset: %q", got)
	}
	if got := cutVisible(s, 8); got != s {
		t.Errorf("cut a line that fits: %q", got)
	}
}

// The engine journals a few actions beyond the store's list: backout_started
// (host and step), not_backed_out, and needs_attention naming the host in
// its message.
func TestProgressTTYEngineBackoutVocabulary(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: true})
	for _, e := range []store.Event{
		ev(store.KindStage, store.ActionStarted, "web", 0, "", ""),
		ev(store.KindBatch, store.ActionStarted, "web", 1, "", ""),
		ev(store.KindHost, store.ActionStarted, "web", 1, "web-1", ""),
		ev(store.KindStep, store.ActionFinished, "web", 1, "web-1", "upload"),
		ev(store.KindStep, store.ActionFinished, "web", 1, "web-1", "switch"),
		ev(store.KindStep, store.ActionTerminated, "web", 1, "web-1", "restart"),
		ev(store.KindHost, store.ActionTerminated, "web", 1, "web-1", ""),
		ev(store.KindHost, "backout_started", "web", 0, "web-1", ""),
		ev(store.KindStep, "backout_started", "web", 0, "web-1", "restart"),
		ev(store.KindStep, store.ActionBackedOut, "web", 0, "web-1", "restart"),
		ev(store.KindStep, "backout_started", "web", 0, "web-1", "switch"),
		{RunID: "r-1", Kind: store.KindStep, Action: store.ActionBackoutFailed, Stage: "web", Host: "web-1", Step: "switch", ExitCode: store.ExitCode(4), Output: "no space left\n"},
		{RunID: "r-1", Kind: store.KindHost, Action: store.ActionBackoutFailed, Stage: "web", Host: "web-1", Message: "exit 4: no space left"},
		{RunID: "r-1", Kind: store.KindRun, Action: "needs_attention", Message: "web-1: backout of step switch failed: exit 4"},
	} {
		p.Observe(e)
	}
	p.Close()
	frame, _ := finalFrame(t, out.String())
	got := strings.Join(frame, "\n")
	for _, w := range []string{
		"web    [....................] 0/3 hosts  batch 1/2 (canary)  1 backout failed",
		"  web-1  ✔ ! ↺  ·  needs attention",
		"needs attention: web-1: backout of step switch failed: exit 4",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("frame lacks %q:\n%s", w, got)
		}
	}
	_, fails, _ := strings.Cut(stripANSI(out.String()), "\nFailures\n")
	if n := strings.Count(fails, "web-1"); n != 2 { // the step's backout, and the attention message
		t.Errorf("failures section names web-1 %d times, want 2:\n%s", n, fails)
	}
}
