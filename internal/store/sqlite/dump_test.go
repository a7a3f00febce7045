package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func TestDumpConformance(t *testing.T) {
	storetest.RunDump(t, func(t *testing.T) store.Dumper {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
