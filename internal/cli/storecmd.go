package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
	"github.com/golive-dev/golive/internal/store/storetools"
)

func newStore(e *env) *cobra.Command {
	root := &cobra.Command{Use: "store", Short: "Copy a state store into another, or check one",
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unknown command %q for golive store (copy or check)", errUsage, args[0])
			}
			return c.Help()
		}}
	root.AddCommand(newStoreCopy(e), newStoreCheck(e))
	return root
}

func newStoreCopy(e *env) *cobra.Command {
	var from, to string
	var merge bool
	c := &cobra.Command{
		Use:   "copy --from STORE --to STORE",
		Short: "Copy every run, journal, approval, live release and lock of one store into another",
		Long: `Copy moves a team's history between stores (a SQLite file, sqlite://PATH or
postgres://...), in any direction: every run with its journal (seqs and
times exact), approvals, lease, the live releases and the locks. It writes
in one transaction of the target: a copy that fails leaves the target as it
was. A target that holds anything is refused (saying what it holds) unless
--merge. Afterwards it reads the target back and compares counts, each
run's last seq and a sha256 of every field. Stop releases meanwhile: a copy
taken while a run goes on misses what it journals next.

Exit 0 copied and verified; 2 refused or failed (nothing written); 4 written
but the target does not read back as the source (it needs attention).`,
		Args: argsNamed(0, 0, "no arguments (--from and --to)"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.storeCopy(c.Context(), from, to, merge)
		},
	}
	c.Flags().StringVar(&from, "from", "", "the store to copy: a SQLite file or a postgres:// URL (required)")
	c.Flags().StringVar(&to, "to", "", "the store to copy into: a SQLite file (created when missing) or a postgres:// URL (required)")
	c.Flags().BoolVar(&merge, "merge", false, "add the runs to a target that is not empty (runs in both must be identical)")
	return c
}

// storeName is how a store is named in messages (a URL's password redacted).
func storeName(dsn string) string {
	if postgres.IsDSN(dsn) || strings.Contains(dsn, "://") {
		return postgres.Redact(dsn)
	}
	return dsn
}

// openDumper opens dsn (a source must exist: mustExist) as a store that
// can be read whole and written verbatim.
func (e *env) openDumper(ctx context.Context, flag, dsn string, mustExist bool) (store.Dumper, error) {
	path := e.storePath(dsn, "")
	var st store.Store
	var err error
	if mustExist {
		if !strings.Contains(path, "://") {
			if _, serr := os.Stat(path); serr != nil {
				return nil, withCode(ExitUsage, "%s %s: no such store", flag, path)
			}
		}
		st, err = e.openExistingStore(ctx, path, "", true)
	} else {
		st, err = e.openStoreAt(ctx, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	d, ok := st.(store.Dumper)
	if !ok {
		st.Close()
		return nil, withCode(ExitUsage, "%s %s: this store cannot be copied", flag, storeName(path))
	}
	return d, nil
}

// sameStore reports whether a and b name the same store.
func sameStore(a, b string) bool {
	if a == b {
		return true
	}
	if strings.Contains(a, "://") || strings.Contains(b, "://") {
		return false
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

func (e *env) storeCopy(ctx context.Context, from, to string, merge bool) error {
	if from == "" || to == "" {
		return fmt.Errorf("%w: store copy needs --from STORE and --to STORE", errUsage)
	}
	if sameStore(e.storePath(from, ""), e.storePath(to, "")) {
		return withCode(ExitUsage, "store copy: --from and --to are the same store (%s)", storeName(e.storePath(from, "")))
	}
	src, err := e.openDumper(ctx, "--from", from, true)
	if err != nil {
		return err
	}
	defer src.Close()
	toPath := e.storePath(to, "")
	_, statErr := os.Stat(toPath)
	created := !strings.Contains(toPath, "://") && os.IsNotExist(statErr)
	dst, err := e.openDumper(ctx, "--to", to, false)
	if err != nil {
		return err
	}
	fromName, toName := storeName(e.storePath(from, "")), storeName(toPath)
	rep, err := storetools.Copy(ctx, src, dst, storetools.CopyOptions{Merge: merge})
	dst.Close()
	if rep != nil {
		e.printCopy(rep, fromName, toName)
	}
	if err != nil {
		if created && !errors.Is(err, storetools.ErrMismatch) {
			// A SQLite file this copy created and wrote nothing to.
			for _, p := range []string{toPath, toPath + "-wal", toPath + "-shm"} {
				_ = os.Remove(p)
			}
		}
		return fmt.Errorf("store copy %s -> %s: %w", fromName, toName, err)
	}
	return nil
}

func (e *env) printCopy(rep *storetools.CopyReport, from, to string) {
	out, errw := e.stdio.Out, e.stdio.Err
	fmt.Fprintf(out, "copied %s -> %s: %s\n", from, to, rep.Copied)
	if rep.Skipped > 0 {
		fmt.Fprintf(out, "already in the target, identical: %d runs\n", rep.Skipped)
	}
	if rep.KeptLive > 0 {
		fmt.Fprintf(out, "kept the target's newer live release on %d hosts\n", rep.KeptLive)
	}
	if rep.Checksum != "" {
		fmt.Fprintf(out, "verified: read back %s; every run's last seq and journal counter match; sha256 %s\n",
			rep.Verified, rep.Checksum)
	}
	if n := len(rep.Unfinished); n > 0 {
		list := rep.Unfinished
		if n > 5 {
			list = append(list[:5:5], "...")
		}
		fmt.Fprintf(errw, "golive: warning: %d runs were not finished in the source (%s): what they journal from now on is not in the copy\n",
			n, strings.Join(list, ", "))
	}
	if rep.Changed > 0 {
		fmt.Fprintf(errw, "golive: warning: %d text values held NUL bytes or invalid UTF-8, which the target keeps as U+FFFD\n", rep.Changed)
	}
}

func newStoreCheck(e *env) *cobra.Command {
	var storeFlag string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check [--store STORE]",
		Short: "Check a state store: journal gaps, orphan records, stale locks and leases, runs at odds with their journal",
		Long: `Check reads the whole store (one snapshot; it changes nothing) and reports,
with the run and seq concerned: seqs missing from a run's journal; a journal
counter at odds with the run's last event; a run whose state is not what its
last state event says; a run that ended cleanly but still holds a lease or
its environment's lock; events, approvals, live releases and locks of runs
the store does not have.

Exit 0 no findings; 3 findings; 2 the store cannot be read.`,
		Args: argsNamed(0, 0, "no arguments (--store)"),
		RunE: func(c *cobra.Command, _ []string) error {
			return e.storeCheck(c.Context(), storeFlag, asJSON)
		},
	}
	c.Flags().StringVar(&storeFlag, "store", "", "the store: a SQLite file or a postgres:// URL (else $GOLIVE_STORE, else .golive/state.db here)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	return c
}

func (e *env) storeCheck(ctx context.Context, flag string, asJSON bool) error {
	st, err := e.openDumper(ctx, "--store", flag, true)
	if err != nil {
		return err
	}
	defer st.Close()
	name := storeName(e.storePath(flag, ""))
	rep, err := storetools.Check(ctx, st, time.Now())
	if err != nil {
		return fmt.Errorf("store check %s: %w", name, err)
	}
	if asJSON {
		type finding struct {
			Kind string `json:"kind"`
			Run  string `json:"run"`
			Seq  int64  `json:"seq,omitempty"`
			What string `json:"what"`
		}
		c := rep.Contents
		doc := map[string]any{"store": name, "runs": c.Runs, "events": c.Events, "approvals": c.Approvals,
			"live": c.Live, "locks": c.Locks, "findings": []finding{}}
		fs := []finding{}
		for _, f := range rep.Findings {
			fs = append(fs, finding{f.Kind, f.RunID, f.Seq, f.What})
		}
		doc["findings"] = fs
		enc := json.NewEncoder(e.stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdio.Out, "store %s: %s\n", name, rep.Contents)
		for _, f := range rep.Findings {
			fmt.Fprintln(e.stdio.Out, f)
		}
	}
	if n := len(rep.Findings); n > 0 {
		if n == 1 {
			return withCode(ExitNoGo, "store check: 1 finding")
		}
		return withCode(ExitNoGo, "store check: %d findings", n)
	}
	if !asJSON {
		fmt.Fprintln(e.stdio.Out, "no findings")
	}
	return nil
}
