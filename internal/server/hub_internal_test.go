package server

import (
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

func seqs(evs []encoded) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.seq)
	}
	return out
}

// The events of a run executed here reach its subscribers when the engine
// observes them (durable), without a read of the store; in seq order,
// without gaps: an event ahead of a gap waits for it.
func TestHubPushesJournaledEventsInOrder(t *testing.T) {
	h := &hub{followers: map[string]*follower{}, runsPoke: make(chan struct{}, 1)}
	f := &follower{wake: make(chan struct{}), poke: make(chan struct{}, 1)}
	h.followers["r-1"] = f
	ev := func(seq int64) store.Event {
		return store.Event{RunID: "r-1", Seq: seq, Time: time.Now(), Kind: store.KindStep, Action: "succeeded", Host: "web1"}
	}
	_, _, wake := f.after(0)
	h.observe(ev(1))
	select {
	case <-wake:
	default:
		t.Fatal("an observed event did not wake the subscribers")
	}
	if got, _, _ := f.after(0); len(got) != 1 || got[0].seq != 1 {
		t.Fatalf("after observing seq 1: %v, want [1] delivered at once", seqs(got))
	}
	select {
	case <-f.poke:
		t.Fatal("an event that comes next needs no read of the store")
	default:
	}
	h.observe(ev(3)) // 2 not seen here (journaled by an API call): read it
	if got, _, _ := f.after(0); len(got) != 1 {
		t.Fatalf("seq 3 ahead of the gap was delivered: %v", seqs(got))
	}
	select {
	case <-f.poke:
	default:
		t.Fatal("a gap did not ask the reader to read the store")
	}
	f.add([]encoded{encode(ev(1)), encode(ev(2))}) // what the reader found
	if got, _, _ := f.after(0); len(got) != 3 || got[2].seq != 3 {
		t.Fatalf("after the gap was read: %v, want [1 2 3]", seqs(got))
	}
	h.observe(ev(2)) // late: already delivered
	h.observe(store.Event{RunID: "r-1", Kind: store.KindState, Action: "succeeded"})
	if got, _, _ := f.after(1); len(got) != 2 {
		t.Fatalf("after(1) = %v, want [2 3]", seqs(got))
	}
	select {
	case <-f.poke:
	default:
		t.Fatal("a state change (written by the store, no seq) did not ask for a read")
	}
}

// An event whose text a store may change (NUL, invalid UTF-8) is not
// pushed: it is read back from the store.
func TestHubReadsBackOddText(t *testing.T) {
	h := &hub{followers: map[string]*follower{}, runsPoke: make(chan struct{}, 1)}
	f := &follower{wake: make(chan struct{}), poke: make(chan struct{}, 1)}
	h.followers["r-1"] = f
	for i, out := range []string{"a\x00b", "bad \xff utf-8"} {
		h.observe(store.Event{RunID: "r-1", Seq: int64(i + 1), Kind: store.KindStep, Action: "finished", Output: out})
		if got, _, _ := f.after(0); len(got) != 0 {
			t.Errorf("output %q was pushed", out)
		}
		select {
		case <-f.poke:
		default:
			t.Errorf("output %q: no read of the store asked for", out)
		}
	}
}

// A pushed event is encoded as the store gives it back, so a live stream
// and a replay are the same bytes.
func TestAsStoredMatchesTheStore(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	got := asStored(store.Event{Time: at, Actor: "alice"})
	if !got.Time.Equal(at.Truncate(time.Microsecond)) || got.Time.Location() != time.UTC {
		t.Errorf("time %v: want UTC to the microsecond", got.Time)
	}
	if got.ActorVia == "" {
		t.Errorf("identities not filled: %+v", got)
	}
}

// A flood of refusals records refusalsPerMinute a minute; the next one
// recorded says how many were not.
func TestRefusalLimit(t *testing.T) {
	var l refusalLimit
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < refusalsPerMinute; i++ {
		if ok, _ := l.allow(at); !ok {
			t.Fatalf("refusal %d of the minute not recorded", i+1)
		}
	}
	for i := 0; i < 5; i++ {
		if ok, _ := l.allow(at.Add(30 * time.Second)); ok {
			t.Fatal("more than refusalsPerMinute recorded in a minute")
		}
	}
	ok, dropped := l.allow(at.Add(time.Minute))
	if !ok || dropped != 5 {
		t.Errorf("the next minute: %v, %d dropped; want true, 5", ok, dropped)
	}
	if _, dropped := l.allow(at.Add(time.Minute)); dropped != 0 {
		t.Errorf("dropped counted twice: %d", dropped)
	}
}
