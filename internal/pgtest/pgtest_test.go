package pgtest

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestDatabasePerTest(t *testing.T) {
	dsn := DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("new database has %d tables, %v", n, err)
	}
	bad := "postgres://postgres:wrong@127.0.0.1:" + strconv.Itoa(Shared(t).Port) + "/postgres?sslmode=disable"
	if c, err := pgx.Connect(ctx, bad); err == nil {
		c.Close(ctx)
		t.Errorf("a wrong password was accepted over TCP")
	}
}
