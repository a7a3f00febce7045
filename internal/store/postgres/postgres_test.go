package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t testing.TB, dsn string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}
