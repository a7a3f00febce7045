package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/store"
)

func testAppendEvent(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	when := time.Date(2026, 11, 26, 2, 15, 30, 123456789, time.UTC)
	in := []store.Event{
		{RunID: r.ID, Time: when, Kind: store.KindStep, Action: store.ActionFinished, Stage: "web",
			Batch: 2, Host: "web-1", Step: "restart", ExitCode: store.ExitCode(0),
			Duration: 1500 * time.Millisecond, Output: "ok\nrestarted\n", Message: "done", Actor: "bob",
			ActorVia: store.ViaAPI, ActorOSUser: "golive", ActorToken: "bob"},
		{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFailed, Host: "web-2",
			ExitCode: store.ExitCode(137), Seq: 999},
		{RunID: r.ID, Kind: store.KindCheck, Action: store.ActionTimedOut},
	}
	for i, e := range in {
		seq, err := s.AppendEvent(ctx(t), e)
		if err != nil {
			t.Fatalf("AppendEvent %d: %v", i, err)
		}
		if want := int64(i + 2); seq != want { // seq 1 is the creation event
			t.Errorf("AppendEvent %d: seq %d, want %d", i, seq, want)
		}
	}
	got, err := s.Events(ctx(t), r.ID, 1)
	if err != nil || len(got) != len(in) {
		t.Fatalf("Events = %d events, %v; want %d", len(got), err, len(in))
	}
	for i, want := range in {
		want.Seq = int64(i + 2)
		if want.Time.IsZero() {
			recent(t, "Time", got[i].Time)
			want.Time = got[i].Time
		}
		if g := got[i]; normEvent(g) != normEvent(want) ||
			(g.ExitCode == nil) != (want.ExitCode == nil) ||
			g.ExitCode != nil && *g.ExitCode != *want.ExitCode {
			t.Errorf("event %d = %+v\nwant %+v", i, g, want)
		}
	}
	if got[0].Time.Location() != time.UTC || !got[0].Time.Equal(when.Truncate(time.Microsecond)) {
		t.Errorf("Time = %v, want %v to the microsecond, in UTC", got[0].Time, when)
	}
	if got[2].ExitCode != nil {
		t.Errorf("ExitCode = %d, want nil", *got[2].ExitCode)
	}

	// Sequences are per run.
	other := newRun(t, s, "p", "e", "2")
	if seq, err := s.AppendEvent(ctx(t), store.Event{RunID: other.ID, Kind: "run", Action: "started"}); err != nil || seq != 2 {
		t.Errorf("AppendEvent(other run) = %d, %v, want 2", seq, err)
	}
}

// normEvent returns e comparable with ==: time canonical, exit code dropped.
func normEvent(e store.Event) store.Event {
	e.Time, e.ExitCode = normTime(e.Time), nil
	return e
}

func testAppendEventInvalid(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	for _, tt := range []struct {
		name string
		e    store.Event
		want error
	}{
		{"no run id", store.Event{Kind: "step", Action: "started"}, store.ErrInvalid},
		{"no kind", store.Event{RunID: r.ID, Action: "started"}, store.ErrInvalid},
		{"no action", store.Event{RunID: r.ID, Kind: "step"}, store.ErrInvalid},
		{"unknown run", store.Event{RunID: "r-missing", Kind: "step", Action: "started"}, store.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AppendEvent(ctx(t), tt.e)
			wantErr(t, "AppendEvent", err, tt.want)
		})
	}
	_, err := s.Events(ctx(t), "r-missing", 0)
	wantErr(t, "Events(unknown run)", err, store.ErrNotFound)
	// A failed append takes no sequence number.
	if seq, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "step", Action: "started"}); err != nil || seq != 2 {
		t.Errorf("AppendEvent after failures = %d, %v, want 2", seq, err)
	}
}

func testEventsAfter(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	for range 5 {
		if _, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		after int64
		want  []int64
	}{
		{0, []int64{1, 2, 3, 4, 5, 6}},
		{-1, []int64{1, 2, 3, 4, 5, 6}},
		{4, []int64{5, 6}},
		{6, nil},
		{100, nil},
	} {
		events, err := s.Events(ctx(t), r.ID, tt.after)
		if err != nil {
			t.Fatalf("Events(after %d): %v", tt.after, err)
		}
		var got []int64
		for _, e := range events {
			got = append(got, e.Seq)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Events(after %d) seqs = %v, want %v", tt.after, got, tt.want)
		}
	}
}

func testEventOutputTail(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	long := strings.Repeat("x", 3*store.MaxOutput) + "THE END"
	// A multi-byte character straddles the cut.
	utf := strings.Repeat("é", store.MaxOutput)
	for _, tt := range []struct {
		name, in string
		check    func(got string) bool
	}{
		{"short", "hello", func(got string) bool { return got == "hello" }},
		{"exact", strings.Repeat("y", store.MaxOutput), func(got string) bool { return len(got) == store.MaxOutput }},
		{"long keeps tail", long, func(got string) bool {
			return len(got) == store.MaxOutput && strings.HasSuffix(got, "THE END")
		}},
		{"utf-8", utf, func(got string) bool {
			return len(got) <= store.MaxOutput && len(got) >= store.MaxOutput-3 && utf8.ValidString(got)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seq, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "step", Action: "failed", Output: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			events, err := s.Events(ctx(t), r.ID, seq-1)
			if err != nil || len(events) != 1 {
				t.Fatalf("Events = %v, %v", len(events), err)
			}
			if got := events[0].Output; !tt.check(got) {
				t.Errorf("Output: %d bytes, ending %q", len(got), got[max(0, len(got)-20):])
			}
		})
	}
}

func testAppendEventConcurrent(t *testing.T, s store.Store) {
	const writers, each = 20, 10
	r := newRun(t, s, "p", "e", "1")
	var mu sync.Mutex
	var seqs []int64
	errs := race(writers, func(i int) error {
		for j := range each {
			seq, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started",
				Batch: i, Message: strings.Repeat("m", j)})
			if err != nil {
				return err
			}
			mu.Lock()
			seqs = append(seqs, seq)
			mu.Unlock()
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		if want := int64(i + 2); seq != want {
			t.Fatalf("returned seqs not unique and gapless: position %d has %d, want %d", i, seq, want)
		}
	}
	events, err := s.Events(ctx(t), r.ID, 0)
	if err != nil || len(events) != writers*each+1 {
		t.Fatalf("Events = %d, %v; want %d", len(events), err, writers*each+1)
	}
	perWriter := map[int]int{}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("stored seqs not gapless: position %d has %d", i, e.Seq)
		}
		if i > 0 {
			// Each writer's events are stored in the order it appended them.
			if want := strings.Repeat("m", perWriter[e.Batch]); e.Message != want {
				t.Errorf("writer %d's event %d out of order", e.Batch, perWriter[e.Batch])
			}
			perWriter[e.Batch]++
		}
	}
}

// testAppendEventCanceled: an append whose ctx is canceled, before or while
// it runs, either fails and is not in the journal or succeeds and is: the
// caller is never misled. The run's seqs stay gapless either way.
func testAppendEventCanceled(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := s.AppendEvent(canceled, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "canceled"}); err == nil {
		t.Errorf("AppendEvent with a canceled ctx succeeded")
	}
	acked := map[string]bool{}
	var mu sync.Mutex
	race(20, func(i int) error {
		c, cancel := context.WithCancel(ctx(t))
		go func() { time.Sleep(time.Duration(i) * 100 * time.Microsecond); cancel() }()
		msg := strings.Repeat("m", i+1)
		_, err := s.AppendEvent(c, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: msg})
		mu.Lock()
		acked[msg] = err == nil
		mu.Unlock()
		return nil
	})
	events, err := s.Events(ctx(t), r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("seqs not gapless at %d: %d", i, e.Seq)
		}
		if e.Message == "canceled" {
			t.Errorf("the event appended with a canceled ctx is in the journal")
		}
		stored[e.Message] = true
	}
	for msg, ok := range acked {
		if ok != stored[msg] {
			t.Errorf("event %d: AppendEvent succeeded %v, in the journal %v", len(msg), ok, stored[msg])
		}
	}
}

// testAppendEventConcurrentRuns: concurrent appends to several runs, some of
// them unknown, fail or succeed each on its own; every run's seqs are
// gapless.
func testAppendEventConcurrentRuns(t *testing.T, s store.Store) {
	const writers, each = 12, 10
	runs := []string{newRun(t, s, "p", "e", "1").ID, newRun(t, s, "p", "e", "2").ID, "r-missing"}
	errs := race(writers, func(i int) error {
		id := runs[i%len(runs)]
		for range each {
			_, err := s.AppendEvent(ctx(t), store.Event{RunID: id, Kind: "host", Action: "started", Batch: i})
			if id == "r-missing" {
				if !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("append to unknown run: %v, want ErrNotFound", err)
				}
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range runs[:2] {
		events, err := s.Events(ctx(t), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := writers/len(runs)*each + 1; len(events) != want {
			t.Errorf("run %s: %d events, want %d", id, len(events), want)
		}
		for i, e := range events {
			if e.Seq != int64(i+1) {
				t.Fatalf("run %s: seqs not gapless at %d: %d", id, i, e.Seq)
			}
		}
	}
}
