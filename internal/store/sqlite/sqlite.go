package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/golive-dev/golive/internal/store"
)

// DefaultBusyTimeout is how long a write waits for another process's write
// transaction before failing.
const DefaultBusyTimeout = 10 * time.Second

// Store is a store.Store in an SQLite database.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
	mu   sync.Mutex // serializes this process's write transactions

	// Statements prepared once and reused (per connection, see
	// sql.Tx.StmtContext) by every transaction that appends events.
	seqStmt    *sql.Stmt // UPDATE runs ... RETURNING last_seq
	insertStmt *sql.Stmt // INSERT INTO events

	selectSeqStmt *sql.Stmt // SELECT last_seq, lease_epoch (group commit)
	setSeqStmt    *sql.Stmt // UPDATE runs SET last_seq (group commit)
	getRunStmt    *sql.Stmt // SELECT a run by id (GetRun: a server asks it per request)

	// Group commit of AppendEvent (see appends.go). AppendEvent queues its
	// request on appends while holding closeMu for reading; Close takes
	// closeMu for writing, sets closed and closes appends, so no request is
	// queued on a closed channel; the writer goroutine writes what is still
	// queued and closes writerDone.
	appends    chan *appendReq
	closeMu    sync.RWMutex
	closed     bool
	writerDone chan struct{}
	queued     atomic.Int64 // append requests queued so far (for tests)
	commits    atomic.Int64 // append batches committed so far (for tests)

	notes    []string // what Open changed or found about the files
	readOnly bool     // opened with OpenReadOnly
}

var _ store.Store = (*Store)(nil)

type options struct {
	busyTimeout time.Duration
	now         func() time.Time
}

// Option configures Open.
type Option func(*options)

// WithBusyTimeout sets how long a write waits for other processes' writes
// (DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithNow sets the clock the store uses for the times it records.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens (creating it and its parent directories when missing, with
// modes only its owner can read) the database at path, checks its
// integrity (PRAGMA quick_check: ErrDamaged) and brings its schema up to
// date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: DefaultBusyTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path: %w", store.ErrInvalid)
	}
	notes, err := prepareFiles(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path, o.busyTimeout))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := checkIntegrity(ctx, db, path); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s := &Store{db: db, path: path, now: o.now, notes: notes}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s.appends = make(chan *appendReq, maxAppendBatch)
	s.writerDone = make(chan struct{})
	go s.appendLoop()
	return s, nil
}

// prepare prepares the statements the store reuses.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.seqStmt, err = s.db.PrepareContext(ctx, seqSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if s.insertStmt, err = s.db.PrepareContext(ctx, insertEventSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if s.selectSeqStmt, err = s.db.PrepareContext(ctx, selectSeqSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if s.setSeqStmt, err = s.db.PrepareContext(ctx, setSeqSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if s.getRunStmt, err = s.db.PrepareContext(ctx, getRunSQL); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{s.seqStmt, s.insertStmt, s.selectSeqStmt, s.setSeqStmt, s.getRunStmt} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// dsn returns the data source name that opens path with the store's pragmas.
// busy_timeout comes first so that switching to WAL waits for other
// processes too.
func dsn(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database. Events whose AppendEvent was already waiting
// are written first (and their callers answered); AppendEvent after Close
// fails.
func (s *Store) Close() error {
	s.closeMu.Lock()
	first := !s.closed
	s.closed = true
	s.closeMu.Unlock()
	if first {
		close(s.appends)
		<-s.writerDone
		s.closeStmts()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite %s: close: %w", s.path, err)
	}
	return nil
}

// write runs fn in an immediate transaction and commits it.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// micros returns t as microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros is micros for an optional time: NULL when t is zero.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// isConstraint reports whether err is an SQLite constraint violation with
// this extended code (or any constraint violation when code is 0).
func isConstraint(err error, code int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	if code == 0 {
		return e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	}
	return e.Code() == code
}

// runExists reports whether run id exists, inside tx.
func runExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	return nil
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// clock returns the store's now, in UTC, truncated to the microseconds it
// stores.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
