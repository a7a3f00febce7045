package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The state store holds output tails, --set overrides and approvals: only
// its owner may read it. New directories are made 0700 and the database
// 0600; SQLite gives its -wal and -shm files the database's mode.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Modes golive created its state with before it knew better (umask 022):
// an existing .golive directory or database with exactly these modes is
// tightened; any other mode open to other users is the owner's choice and
// only warned about.
const (
	oldDirMode  fs.FileMode = 0o755
	oldFileMode fs.FileMode = 0o644
)

// prepareFiles creates the database's directory and file with private
// modes, or checks the modes of existing ones; it returns what it changed
// or found exposed, for the caller to show.
func prepareFiles(path string) (notes []string, err error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, err
		}
	} else if filepath.Base(dir) == ".golive" {
		notes = append(notes, checkMode(dir, oldDirMode, dirMode)...)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	switch {
	case err == nil:
		// An empty file is an empty SQLite database. Its mode is exact
		// whatever the umask.
		err = f.Chmod(fileMode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return notes, err
	case !errors.Is(err, fs.ErrExist):
		return notes, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		notes = append(notes, checkMode(p, oldFileMode, fileMode)...)
	}
	return notes, nil
}

// checkMode tightens p from old to want when golive made it so, and warns
// when p is open to every local user otherwise.
func checkMode(p string, old, want fs.FileMode) []string {
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 {
		return nil
	}
	if mode == old && ownedByMe(fi) {
		if err := os.Chmod(p, want); err == nil {
			return []string{fmt.Sprintf("made %s private (mode %04o, was %04o): it holds output tails, overrides and approvals", p, want, mode)}
		}
	}
	if mode&0o007 != 0 {
		return []string{fmt.Sprintf("%s is open to every local user (mode %04o): it holds output tails, overrides and approvals; chmod %04o it", p, mode, want)}
	}
	return nil
}

// Notes returns what Open changed or found about the store's files (modes
// made private, modes open to other users, a read-only store), for the
// caller to show as warnings.
func (s *Store) Notes() []string { return s.notes }

// ReadOnly reports whether the store was opened read-only (OpenReadOnly).
func (s *Store) ReadOnly() bool { return s.readOnly }

// checkIntegrity runs PRAGMA quick_check: a damaged database (or a file
// that is not one) is refused before golive reads or writes a record.
// Other errors (the file cannot be opened) are returned as they are.
func checkIntegrity(ctx context.Context, db *sql.DB, path string) error {
	problems, err := quickCheck(ctx, db)
	var e *sqlite.Error
	switch {
	case err != nil && errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_CORRUPT || e.Code()&0xff == sqlite3.SQLITE_NOTADB):
		return damaged(path, err.Error())
	case err != nil:
		return err
	case len(problems) > 0:
		return damaged(path, strings.Join(problems, "; "))
	}
	return nil
}

func quickCheck(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, strings.ReplaceAll(line, "\n", "; "))
		}
	}
	return problems, rows.Err()
}

// ErrDamaged: the database file fails its integrity check.
var ErrDamaged = errors.New("database is damaged")

func damaged(path, why string) error {
	return fmt.Errorf("%w (%s)\n  golive will not read or write it. Keep a copy (cp %s %s.damaged), then recover what it can "+
		"(sqlite3 %s .recover | sqlite3 %s.recovered) and point --store at the recovered file, or restore the store from a backup",
		ErrDamaged, why, path, path, path, path)
}

// isReadOnlyErr reports whether err says the database or its directory
// cannot be written (a read-only file system, missing write permission,
// an immutable file).
func isReadOnlyErr(err error) bool {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return true
	}
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return true
	}
	return false
}

// IsReadOnly reports whether an Open error means the store cannot be
// written here, so that OpenReadOnly may show it.
func IsReadOnly(err error) bool { return isReadOnlyErr(err) }

// OpenReadOnly opens an existing database without writing anything to it
// or beside it, for commands that only read (status, history, logs,
// report) on a store they may not write: a read-only mount, a directory or
// file without write permission. When SQLite cannot even create the WAL's
// shared-memory file there, the database is read as immutable (nothing may
// write it meanwhile: nobody can, here).
func OpenReadOnly(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: DefaultBusyTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	for _, immutable := range []bool{false, true} {
		db, err := sql.Open("sqlite", roDSN(abs, o.busyTimeout, immutable))
		if err != nil {
			return nil, fmt.Errorf("sqlite %s: %w", path, err)
		}
		if err := checkIntegrity(ctx, db, path); err != nil {
			db.Close()
			if !immutable && !errors.Is(err, ErrDamaged) {
				continue // cannot create the -shm file here: read it as immutable
			}
			return nil, fmt.Errorf("sqlite %s: read-only: %w", path, err)
		}
		if err := checkSchema(ctx, db); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite %s: %w", path, err)
		}
		s := &Store{db: db, path: path, now: o.now, readOnly: true,
			notes: []string{fmt.Sprintf("the store %s cannot be written here: showing it read-only", path)}}
		s.appends = make(chan *appendReq)
		s.writerDone = make(chan struct{})
		close(s.writerDone)
		s.closed = true // AppendEvent fails: nothing is written
		return s, nil
	}
	panic("unreachable")
}

// roDSN opens abs read-only: mode=ro, no pragma that writes, and
// query_only so that no statement can.
func roDSN(abs string, busy time.Duration, immutable bool) string {
	q := url.Values{}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

// checkSchema refuses a database whose schema is not the one this golive
// reads; a read-only store cannot be migrated.
func checkSchema(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	switch {
	case v > len(migrations):
		return fmt.Errorf("database schema version %d is newer than this golive knows (%d): upgrade golive", v, len(migrations))
	case v < len(migrations):
		return fmt.Errorf("database schema version %d is older than this golive reads (%d), and the store is read-only here: run a golive command once where it can be written", v, len(migrations))
	}
	return nil
}
