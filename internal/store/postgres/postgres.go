// Package postgres is a store.Store in PostgreSQL (pgx/v5), so that several
// controllers (CLIs, CI runners, servers) share one journal, one set of
// locks and one record of live releases.
//
// Open brings the schema up to date under a session advisory lock, so two
// processes starting at once migrate once. Journal appends are group
// committed like the SQLite store's (see appends.go) and announced with
// NOTIFY, so followers (store.Follower) learn of them without polling. Run
// leases fence stale executors in the same transaction as their writes.
// Every statement is parameterised.
//
// The store rides out a restart of PostgreSQL or a dropped connection:
// writes and reads that fail for want of a connection are retried (for
// WithRetryFor, one minute by default; a run executor's writes and lease
// renewals for as long as it waits: see retry), and appends carry a token
// so that an append whose commit's outcome was lost is never stored
// twice.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/golive-dev/golive/internal/store"
)

// DefaultRetryFor is how long an operation retries while PostgreSQL cannot
// be reached.
const DefaultRetryFor = time.Minute

// Store is a store.Store in a PostgreSQL database.
type Store struct {
	pool     *pgxpool.Pool
	dsn      string // as given; only ever shown through Redact
	now      func() time.Time
	retryFor time.Duration

	// Group commit (appends.go).
	appends    chan *appendReq
	closeMu    sync.RWMutex
	closed     bool
	quit       chan struct{} // closed by Close: patient retries end
	giveUp     chan struct{} // closed by StopWaiting
	giveUpOnce sync.Once
	writerDone chan struct{}
	commits    atomic.Int64

	listener *listener // LISTEN golive_events (follow.go), started by the first Notify
	lmu      sync.Mutex
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Follower = (*Store)(nil)
)

type options struct {
	now      func() time.Time
	retryFor time.Duration
	maxConns int32
}

// Option configures Open.
type Option func(*options)

// WithNow sets the clock the store uses for the times it records.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRetryFor sets how long an operation retries while PostgreSQL cannot
// be reached (DefaultRetryFor).
func WithRetryFor(d time.Duration) Option { return func(o *options) { o.retryFor = d } }

// WithMaxConns sets the size of the connection pool (default 8).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// IsDSN reports whether dsn names a PostgreSQL database.
func IsDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn with its password (in the user info or a password
// parameter) replaced by "***", for messages. A DSN that does not parse is
// cut to its scheme and host part, without anything after an '@'.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, rest, ok := strings.Cut(dsn, "://")
		if !ok {
			return "(unparsable store address)"
		}
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			rest = "***@" + rest[i+1:]
		}
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i] + "?***"
		}
		return scheme + "://" + rest
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redactMark)
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, redactMark)
		}
	}
	u.RawQuery = q.Encode()
	return strings.ReplaceAll(u.String(), redactMark, "***")
}

// Open connects to the database dsn (a postgres:// URL), brings its schema
// up to date and starts the append writer.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, retryFor: DefaultRetryFor, maxConns: 8}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", Redact(dsn), scrub(err, dsn))
	}
	cfg.MaxConns = o.maxConns
	cfg.ConnConfig.RuntimeParams["application_name"] = "golive"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// A controller stopped (SIGSTOP, a frozen VM) inside a transaction
	// would hold its row locks for ever and block every other controller,
	// the one taking its run over included: PostgreSQL ends such a session
	// after this long, rolling its transaction back.
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "5000"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", Redact(dsn), scrub(err, dsn))
	}
	s := &Store{pool: pool, dsn: dsn, now: o.now, retryFor: o.retryFor, quit: make(chan struct{}), giveUp: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: %w", Redact(dsn), scrub(err, dsn))
	}
	s.appends = make(chan *appendReq, maxAppendBatch)
	s.writerDone = make(chan struct{})
	go s.appendLoop()
	return s, nil
}

// scrub removes the DSN's password from an error pgx built from it.
func scrub(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			if strings.Contains(msg, pw) {
				return errors.New(strings.ReplaceAll(msg, pw, "***"))
			}
		}
	}
	if strings.Contains(msg, dsn) {
		return errors.New(strings.ReplaceAll(msg, dsn, Redact(dsn)))
	}
	return err
}

// StopWaiting makes every operation waiting for PostgreSQL to come back
// (patient ones included, see retry) give up now, and later ones give
// up at their first failure: an operator insisted on stopping (the CLI's
// third interrupt). The store stays open.
func (s *Store) StopWaiting() { s.giveUpOnce.Do(func() { close(s.giveUp) }) }

// Closed is closed once Close was called.
func (s *Store) Closed() <-chan struct{} { return s.quit }

// Path returns the database's address, its password redacted.
func (s *Store) Path() string { return Redact(s.dsn) }

// Close writes the appends already queued, stops listening and closes the
// pool.
func (s *Store) Close() error {
	s.closeMu.Lock()
	first := !s.closed
	s.closed = true
	s.closeMu.Unlock()
	if first {
		close(s.quit)
		close(s.appends)
		<-s.writerDone
		s.lmu.Lock()
		if s.listener != nil {
			s.listener.stop()
		}
		s.lmu.Unlock()
		s.pool.Close()
	}
	return nil
}

// clock returns now in UTC, truncated to the microseconds PostgreSQL keeps.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// transient reports whether err is a lost or refused connection (or a
// serialization failure) after which the operation may be tried again.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), // connection exception
			pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03", // shutdown, crash, starting up
			pg.Code == "40001", pg.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrExists, store.ErrInvalid,
		store.ErrStateConflict, store.ErrLocked, store.ErrFenced, store.ErrLeaseHeld} {
		if errors.Is(err, sentinel) {
			return false
		}
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed")
}

// errUnreachable: retry gave up for want of a connection.
var errUnreachable = errors.New("postgres unreachable")

// errClosed: the store was closed while an operation waited for
// PostgreSQL.
var errClosed = errors.New("store closed while PostgreSQL was unreachable")

// retry runs fn until it succeeds, fails for good, ctx is done or
// retryFor passed since the first transient failure. fn is told the
// attempt number (0 first) so that a write can recognise its own earlier
// commit whose answer was lost.
//
// A patient operation has no retryFor: the writes of a run's executor
// (made under its lease: store.Leased) and lease renewals. An executor
// cut off from PostgreSQL must neither give up the run after a minute
// (leaving it to nobody while it lives) nor act without its journal: its
// journal writes wait, so it starts nothing new, and once PostgreSQL
// answers it either still holds the run (its lease is renewed, its
// writes commit) or learns that another took the run over (fenced) and
// stops. Patient operations end with ctx or when the store is closed.
func (s *Store) retry(ctx context.Context, patient bool, fn func(attempt int) error) error {
	var deadline time.Time
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn(attempt)
		if !transient(err) {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(s.retryFor)
		}
		if !patient && time.Now().After(deadline) {
			return fmt.Errorf("%w for %s: %w", errUnreachable, s.retryFor, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-s.quit:
			return fmt.Errorf("%w: %w", errClosed, err)
		case <-s.giveUp:
			return fmt.Errorf("%w: gave up waiting (interrupted): %w", errUnreachable, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// write runs fn in a read-committed transaction and commits it, retried
// as retry does (patiently for an executor's write: store.Leased).
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx, attempt int) error) error {
	return s.writeWith(ctx, store.Leased(ctx), fn)
}

func (s *Store) writeWith(ctx context.Context, patient bool, fn func(tx pgx.Tx, attempt int) error) error {
	return s.retry(ctx, patient, func(attempt int) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx, attempt) })
	})
}

// read runs fn, retried as retry does.
func (s *Store) read(ctx context.Context, fn func() error) error {
	return s.retry(ctx, false, func(int) error { return fn() })
}

// querier is the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// clean makes s storable as PostgreSQL text, which holds neither NUL bytes
// nor invalid UTF-8: each becomes U+FFFD.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// utc returns t in UTC (pgx returns times in the local zone).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// nullTime is t, or NULL when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// isUnique reports a unique violation.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// runExists returns ErrNotFound unless run id exists.
func runExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM runs WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	return nil
}

// redactMark stands for a password while a URL is re-encoded; Redact
// replaces it with "***" (which url would escape).
const redactMark = "golive-redacted-7f3a9c"
