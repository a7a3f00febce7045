package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func frame(seq int, ts string) string {
	return "id: " + itoa(seq) + "\nevent: journal\ndata: {\"run\":\"r-1\",\"seq\":" + itoa(seq) + ",\"time\":\"" + ts + "\",\"kind\":\"step\"}\n\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestReaderEveryEventInOrder(t *testing.T) {
	open := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	s := ": ok\n\n" + frame(1, "2026-11-30T07:59:59.5Z") + ": keep-alive\n\n" + frame(2, "2026-11-30T08:00:01.25Z") +
		strings.ReplaceAll(frame(3, "2026-11-30T08:00:02Z"), "\n", "\r\n") + "event: end\ndata: {\"run\":\"r-1\"}\n\n" + frame(4, "2026-11-30T08:00:03Z")
	r := newReader(strings.NewReader(s), open)
	if err := r.read(); err != nil {
		t.Fatal(err)
	}
	if r.n != 3 || r.last != 3 {
		t.Fatalf("n=%d last=%d, want 3 events to seq 3 (none after end)", r.n, r.last)
	}
	if len(r.lat) != 2 { // the first was journaled before the stream opened
		t.Fatalf("latencies %v, want 2", r.lat)
	}
}

func TestReaderRefusesGapsAndBadFrames(t *testing.T) {
	for name, s := range map[string]string{
		"gap":       frame(1, "2026-11-30T08:00:01Z") + frame(3, "2026-11-30T08:00:01Z"),
		"repeat":    frame(1, "2026-11-30T08:00:01Z") + frame(1, "2026-11-30T08:00:01Z"),
		"seq":       strings.Replace(frame(1, "2026-11-30T08:00:01Z"), `"seq":1`, `"seq":2`, 1),
		"time":      frame(1, "yesterday"),
		"no end":    frame(1, "2026-11-30T08:00:01Z"),
		"bad line":  "bogus\n\n",
		"bad event": "event: other\ndata: x\n\n",
	} {
		r := newReader(strings.NewReader(s), time.Time{})
		err := r.read()
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if name == "no end" && !errors.Is(err, errNoEnd) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-11-30T08:09:48Z", "2026-11-30T08:09:48.1Z", "2026-11-30T08:09:48.123456Z", "2026-11-30T08:09:48.123456789Z", "2026-11-30T09:09:48.5+01:00"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		got, err := parseTime([]byte(s))
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v, want %v", s, got, err, want)
		}
	}
}

func TestReaderAllocatesNothingPerFrame(t *testing.T) {
	one := frame(1, "2026-11-30T08:09:48.123456Z")
	data := []byte(one[strings.Index(one, "{") : len(one)-2])
	r := newReader(strings.NewReader(""), time.Time{})
	n := testing.AllocsPerRun(100, func() {
		r.id = append(r.id[:0], "1"...)
		r.event = append(r.event[:0], "journal"...)
		r.data = append(r.data[:0], data...)
		r.last = 0
		r.lat = r.lat[:0]
		if _, err := r.frame(); err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("%v allocations per frame", n)
	}
}
