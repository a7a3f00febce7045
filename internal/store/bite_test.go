package store_test

// Tests that close survivors of the mutation run of internal/store
// (docs/mutation/store.txt): each fails on the mutant named above it.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// lease.go:115 (`l.Epoch > 0` -> `>=`, `<=`): a context carries a lease
// (an executor's write, which a PostgreSQL store keeps retrying through
// an outage) only with an epoch; the zero Lease (epoch 0, what a run
// never leased has) is no lease, whatever its run id.
func TestLeasedOnlyWithAnEpoch(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"no lease", ctx, false},
		{"epoch 0", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h"}), false},
		{"epoch 1", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h", Epoch: 1}), true},
		{"epoch 7", store.WithLease(ctx, store.Lease{RunID: "r", Holder: "h", Epoch: 7}), true},
	} {
		if got := store.Leased(tt.ctx); got != tt.want {
			t.Errorf("%s: Leased = %v, want %v", tt.name, got, tt.want)
		}
	}
	if e := store.FenceEpoch(store.WithLease(ctx, store.Lease{RunID: "r", Epoch: 7}), "r"); e != 7 {
		t.Errorf("FenceEpoch of the leased run = %d, want 7", e)
	}
}

// event.go:94 (`len(s) <= MaxOutput` -> `<`): output within the limit is
// kept byte for byte, also at exactly MaxOutput bytes and when its first
// bytes are not a character's start (a program printing binary data):
// only a cut may drop the bytes of a split character.
func TestTailOutputKeepsOutputWithinTheLimit(t *testing.T) {
	for _, n := range []int{1, store.MaxOutput - 1, store.MaxOutput} {
		in := ("\x80\x80" + strings.Repeat("z", n))[:n]
		if got := store.TailOutput(in); got != in {
			t.Errorf("%d bytes starting with continuation bytes: kept %d bytes, want all", n, len(got))
		}
	}
	// One byte over: cut to the last MaxOutput bytes, then to the next
	// character's start.
	in := "a" + "\x80\x80" + strings.Repeat("z", store.MaxOutput-2)
	if got := store.TailOutput(in); got != strings.Repeat("z", store.MaxOutput-2) {
		t.Errorf("cut output: %d bytes %q..., want the z's only", len(got), got[:min(4, len(got))])
	}
	// event.go:98:16 (`i < utf8.UTFMax` -> `<=`): a cut drops at most the
	// 3 continuation bytes of one split character; a longer run of them
	// is binary data, kept: the last MaxOutput bytes exactly.
	in = "a" + strings.Repeat("\x80", 4) + strings.Repeat("z", store.MaxOutput-4)
	if got := store.TailOutput(in); got != in[1:] {
		t.Errorf("cut binary output: %d bytes, want the last %d", len(got), store.MaxOutput)
	}
}

// redacted.go:47 (`for st != nil` -> `==`): PathOf finds a SQLite store's
// file through the Redacted decorator every command wraps it in (what
// `golive release` reports as the journal's place); "" for nil.
func TestPathOfLooksThroughDecorators(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	raw, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for name, st := range map[string]store.Store{
		"sqlite":         raw,
		"redacted":       store.Redacted(raw, strings.ToUpper),
		"redacted twice": store.Redacted(store.Redacted(raw, strings.ToUpper), strings.ToLower),
		"nil redactor":   store.Redacted(raw, nil),
		"redacted no-op": store.Redacted(raw, func(s string) string { return s }),
	} {
		if got := store.PathOf(st); got != path {
			t.Errorf("%s: PathOf = %q, want %q", name, got, path)
		}
	}
	if got := store.PathOf(nil); got != "" {
		t.Errorf("PathOf(nil) = %q", got)
	}
}
