package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "state.db"))
	})
}
