package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// runFlags are the flags of commands that act on runs.
type runFlags struct {
	planFlags
	as       string
	store    string
	wait     bool
	parallel int
	lockWait string
	// backoutAsked: the command is `golive backout`, whose clean end is
	// what was asked (exit 0), not a failed release (exit 1).
	backoutAsked bool
	// insecure skips ssh host key verification (loudly).
	insecure bool
	// ssh connection tuning
	sshKeepAlive, sshConnectTimeout time.Duration
}

func (f *runFlags) registerRun(c *cobra.Command) {
	c.Flags().StringVar(&f.as, "as", "", "who is acting (else $GOLIVE_USER, else the OS user)")
	c.Flags().StringVar(&f.store, "store", "", "state store: a SQLite file or a postgres:// URL (else $GOLIVE_STORE, else .golive/state.db beside the plan)")
}

// registerRead adds the flags of commands that only read runs (status,
// history, logs, report): which plan, environment and store. They act as
// nobody and render no plan values, so they have no --as, --set or
// --secrets-file.
func (f *runFlags) registerRead(c *cobra.Command) {
	c.Flags().StringVarP(&f.file, "file", "f", "", "plan file (default ./golive.yaml)")
	c.Flags().StringVar(&f.env, "env", "", "environment whose runs to read")
	c.Flags().StringVar(&f.store, "store", "", "state store: a SQLite file (else $GOLIVE_STORE, else .golive/state.db beside the plan)")
}

// registerSSH adds the ssh connection flags, for commands that reach
// targets.
func (f *runFlags) registerSSH(c *cobra.Command) {
	c.Flags().BoolVar(&f.insecure, "insecure-ignore-host-keys", false, "DANGEROUS: do not verify ssh host keys (each host's key is logged with a warning)")
	c.Flags().DurationVar(&f.sshKeepAlive, "ssh-keepalive", 0, "interval between ssh keepalives; 3 unanswered close the connection (default 15s)")
	c.Flags().DurationVar(&f.sshConnectTimeout, "ssh-connect-timeout", 0, "ssh connect and handshake timeout (default 10s)")
}

// actor is who is acting: --as, else $GOLIVE_USER, else the OS user. It
// is a claim: the store records the OS user beside it (store.Identity).
func (e *env) actor(as string) string {
	if as != "" {
		return as
	}
	if u := e.getenv("GOLIVE_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// openStore opens the state store: --store, else $GOLIVE_STORE, else
// .golive/state.db beside the plan file.
func (e *env) openStore(ctx context.Context, flag, planFile string) (store.Store, error) {
	return e.openStoreAt(ctx, e.storePath(flag, planFile))
}

// openExistingStore opens the store only if it exists: commands that read
// runs must not create one. It returns a usage error naming the path.
// With readOnly (commands that only read), a store that cannot be written
// here (a read-only mount, no write permission) is opened read-only.
func (e *env) openExistingStore(ctx context.Context, flag, planFile string, readOnly bool) (store.Store, error) {
	path := e.storePath(flag, planFile)
	if !strings.Contains(path, "://") {
		if _, err := os.Stat(path); err != nil {
			return nil, withCode(ExitUsage, "no runs here: no golive state at %s (give --store, or -f the plan it is beside)", path)
		}
	}
	st, err := e.openStoreAt(ctx, path)
	if err != nil && readOnly && sqlite.IsReadOnly(err) && !errors.Is(err, sqlite.ErrDamaged) {
		ro, rerr := sqlite.OpenReadOnly(ctx, path)
		if rerr != nil {
			return nil, fmt.Errorf("open store: %w", rerr)
		}
		e.storeNotes(ro)
		return ro, nil
	}
	return st, err
}

// storeNotes shows what opening the store changed or found (modes made
// private, a store open to every user, a read-only store) as warnings.
func (e *env) storeNotes(st *sqlite.Store) {
	for _, n := range st.Notes() {
		fmt.Fprintf(e.stdio.Err, "golive: warning: %s\n", n)
	}
}

func (e *env) storePath(flag, planFile string) string {
	dsn := flag
	if dsn == "" {
		dsn = e.getenv("GOLIVE_STORE")
	}
	if dsn == "" {
		if planFile == "" {
			planFile = load.DefaultFile
		}
		dsn = filepath.Join(filepath.Dir(planFile), ".golive", "state.db")
	}
	return strings.TrimPrefix(dsn, "sqlite://")
}

func (e *env) openStoreAt(ctx context.Context, dsn string) (store.Store, error) {
	if postgres.IsDSN(dsn) {
		pg, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err) // redacted by postgres.Open
		}
		if e.intr != nil {
			// A run's executor waits out a PostgreSQL outage; an operator's
			// third interrupt makes it give up (exit 4, the run left for
			// `golive resume`).
			go func() {
				select {
				case <-e.intr.abandon:
					pg.StopWaiting()
				case <-pg.Closed():
				}
			}()
		}
		return pg, nil
	}
	if strings.Contains(dsn, "://") {
		return nil, withCode(ExitUsage, "--store %s: unknown kind of store (a SQLite file path, sqlite://PATH or postgres://...)", postgres.Redact(dsn))
	}
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	e.storeNotes(st)
	return st, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
