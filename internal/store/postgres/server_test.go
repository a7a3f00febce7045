package postgres_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}
