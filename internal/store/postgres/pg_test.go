package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
)

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestMigrateOnce: stores opening a new database at the same time (each
// its own pool, as separate processes would be) all succeed, and each
// migration is applied once.
func TestMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(tctx(t), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(tctx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, versions int
	if err := conn.QueryRow(tctx(t), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != postgres.SchemaVersion() || versions != rows {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d", rows, versions, postgres.SchemaVersion())
	}
}

// TestNewerSchemaRefused: a database migrated by a newer golive is not
// touched.
func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	open(t, dsn).Close()
	conn, err := pgx.Connect(tctx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(tctx(t), `INSERT INTO schema_migrations VALUES (99, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(tctx(t), dsn)
	if err == nil || !strings.Contains(err.Error(), "newer than this golive knows") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestPasswordNeverPrinted: errors and Path show the DSN without its
// password.
func TestPasswordNeverPrinted(t *testing.T) {
	srv := pgtest.Shared(t)
	bad := fmt.Sprintf("postgres://postgres:Wr0ng-Pw-123@127.0.0.1:%d/postgres?sslmode=disable", srv.Port)
	_, err := postgres.Open(tctx(t), bad, postgres.WithRetryFor(time.Second))
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "Wr0ng-Pw-123") {
		t.Errorf("error shows the password: %v", err)
	}
	s := open(t, pgtest.DSN(t))
	if p := s.Path(); strings.Contains(p, pgtest.Password) || !strings.Contains(p, "***") {
		t.Errorf("Path = %q, want the password redacted", p)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@db:5432/golive?sslmode=require":  "postgres://u:***@db:5432/golive?sslmode=require",
		"postgres://u@db/golive":                          "postgres://u@db/golive",
		"postgresql://db/golive?password=pw&user=u":       "postgresql://db/golive?password=***&user=u",
		"postgres://u:p%40ss@db/x":                        "postgres://u:***@db/x",
		"postgres://u:pw@db:bad port/x\x7f":               "postgres://***@db:bad port/x\x7f",
		"postgres://u:pw@db/x?sslpassword=pw&sslmode=req": "postgres://u:***@db/x?sslmode=req&sslpassword=***",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(postgres.Redact(in), "pw") || strings.Contains(postgres.Redact(in), "p%40ss") {
			t.Errorf("Redact(%q) keeps the password", in)
		}
	}
}

// TestHostileText: NUL bytes and invalid UTF-8 (a step's output may hold
// anything) are stored, as U+FFFD, instead of failing the append.
func TestHostileText(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	r, err := s.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1", Reason: "a\x00b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AppendEvent(tctx(t), store.Event{RunID: r.ID, Kind: "step", Action: "finished",
		Output: "ok\x00\xff\xfe done", Message: "m\x00", Host: "h\xc3"})
	if err != nil {
		t.Fatalf("AppendEvent with NUL and invalid UTF-8: %v", err)
	}
	evs, err := s.Events(tctx(t), r.ID, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events = %v, %v", evs, err)
	}
	if e := evs[0]; e.Output != "ok\uFFFD\uFFFD done" || e.Message != "m\uFFFD" || e.Host != "h\uFFFD" {
		t.Errorf("stored %q %q %q", e.Output, e.Message, e.Host)
	}
}

// TestGroupCommit: concurrent appends share commits.
func TestGroupCommit(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	r, err := s.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	before := s.Commits()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.AppendEvent(tctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started", Batch: i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := s.Commits() - before; c >= n {
		t.Errorf("%d appends took %d commits, want fewer", n, c)
	}
}

// TestNotifyAcrossStores: a follower on one store (process) is woken by
// an append through another, without polling.
func TestNotifyAcrossStores(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	r, err := a.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := a.CreateRun(tctx(t), store.Run{Plan: "p", Release: "2"})
	ch, err := b.Notify(tctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The listener wakes everyone once it is listening; drain that.
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("no wake-up when the listener started")
	}
	if _, err := a.AppendEvent(tctx(t), store.Event{RunID: other.ID, Kind: "host", Action: "started"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendEvent(tctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("an append in another store did not notify the follower")
	}
}

// TestFencingAcrossStores: two controllers on one database; after B takes
// the expired lease, A's writes are refused.
func TestFencingAcrossStores(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	r, err := a.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1", State: store.StateRunning})
	if err != nil {
		t.Fatal(err)
	}
	la, err := a.AcquireLease(tctx(t), r.ID, "server-a", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	lb, err := b.AcquireLease(tctx(t), r.ID, "server-b", time.Minute)
	if err != nil || lb.Epoch != la.Epoch+1 {
		t.Fatalf("B's AcquireLease = %+v, %v", lb, err)
	}
	_, err = a.AppendEvent(store.WithLease(tctx(t), la), store.Event{RunID: r.ID, Kind: "step", Action: "started"})
	var fe *store.FencedError
	if !errors.As(err, &fe) || fe.Holder != "server-b" {
		t.Fatalf("A's append after the takeover: %v", err)
	}
	if _, err := a.RenewLease(tctx(t), la, time.Minute); !errors.Is(err, store.ErrFenced) {
		t.Errorf("A's renewal after the takeover: %v", err)
	}
}

// TestRestartMidAppends: PostgreSQL restarted (immediate shutdown: every
// connection cut) while appends go on: every append returns success, none
// is stored twice, seqs stay gapless; state changes and reads go on too.
func TestRestartMidAppends(t *testing.T) {
	srv := pgtest.Shared(t)
	s := open(t, pgtest.DSN(t))
	r, err := s.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.AppendEvent(tctx(t), store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: msg}); err != nil {
					errs <- fmt.Errorf("%s: %w", msg, err)
					return
				}
				mu.Lock()
				acked = append(acked, msg)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := srv.Restart(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("restart: %v", err)
	}
	if _, err := s.UpdateRunState(tctx(t), r.ID, []store.State{store.StatePending}, store.StateRunning, "after restart"); err != nil {
		t.Errorf("UpdateRunState after the restart: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("append failed across the restart: %v", err)
	}
	evs, err := s.Events(tctx(t), r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("seqs not gapless at %d: %d", i, e.Seq)
		}
		if e.Kind == "host" {
			stored = append(stored, e.Message)
		}
	}
	slices.Sort(stored)
	slices.Sort(acked)
	if !slices.Equal(stored, acked) {
		t.Errorf("journal has %d appends, %d were acknowledged (duplicates or losses)", len(stored), len(acked))
	}
	if len(acked) < writers {
		t.Errorf("only %d appends made", len(acked))
	}
}
