package postgres_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func TestDumpConformance(t *testing.T) {
	storetest.RunDump(t, func(t *testing.T) store.Dumper { return open(t, pgtest.DSN(t)) })
}
