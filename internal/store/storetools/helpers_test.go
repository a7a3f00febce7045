package storetools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "golive-storetools-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	bin       string
	buildErr  error
)

// golive builds the real binary once for the package.
func golive(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { bin, buildErr = golivetest.Build(binDir) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

const historyPlan = `golive: 1
name: demo
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web]}
    h2: {dir: hosts/h2, roles: [web]}
controls:
  approvals: {required: 1, approvers: [alice, bob], allow_self: true}
stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: |
          printf 'switching %s to %s \033[31mred\033[0m caf\303\251\n' "$GOLIVE_HOST" "$GOLIVE_RELEASE"
          if [ "$GOLIVE_HOST" = "$FAIL_ON" ]; then echo "cannot switch" >&2; exit 3; fi
          echo "$GOLIVE_RELEASE" > current
        backout: |
          if [ -n "$BACKOUT_FAIL" ]; then echo "backout broken" >&2; exit 1; fi
          if [ -n "$GOLIVE_PREVIOUS" ]; then echo "$GOLIVE_PREVIOUS" > current; else rm -f current; fi
    health:
      - run: test -f current
`

// history is a team's history made by real releases of the real binary
// into the store dsn (a new SQLite file when ""): a release approved and
// live, one rejected (so aborted), one failed and backed out, one whose
// backout failed (it keeps the environment lock). It returns the CLI.
func history(t *testing.T, dsn string) *golivetest.CLI {
	t.Helper()
	dir := t.TempDir()
	for _, h := range []string{"h1", "h2"} {
		if err := os.MkdirAll(filepath.Join(dir, "hosts", h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plan := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(plan, []byte(historyPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	if dsn == "" {
		dsn = filepath.Join(dir, ".golive", "state.db")
	}
	cli := &golivetest.CLI{T: t, Bin: golive(t), Dir: dir, Plan: plan, Store: dsn, User: "rita", Timeout: time.Minute}
	cli.MustExit(3, "run", "-r", "1.0", "--ticket", "CHG-1")
	cli.MustExit(0, "approve", "last", "--as", "alice", "--comment", "ok by me")
	cli.MustExit(0, "resume", "last")
	cli.MustExit(3, "run", "-r", "1.1")
	cli.MustExit(0, "reject", "last", "--as", "bob", "--comment", "not today")
	cli.ExtraEnv = []string{"FAIL_ON=h2"}
	cli.MustExit(3, "run", "-r", "1.2")
	cli.MustExit(0, "approve", "last", "--as", "alice")
	cli.MustExit(1, "resume", "last")
	cli.ExtraEnv = []string{"FAIL_ON=h2", "BACKOUT_FAIL=1"}
	cli.MustExit(3, "run", "-r", "1.3")
	cli.MustExit(0, "approve", "last", "--as", "bob")
	cli.MustExit(4, "resume", "last")
	cli.ExtraEnv = nil
	return cli
}

// dump is everything a store keeps, as JSON (times to the microsecond in
// UTC), for exact comparison.
func dump(t *testing.T, st store.Dumper) string {
	t.Helper()
	runs, tables := export(t, st)
	b, err := json.MarshalIndent(struct {
		Runs   []store.RunRecord
		Tables store.Tables
	}{runs, tables}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(tctx(t), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPG(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(tctx(t), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// firstDiff shows where two dumps part.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

func sqliteOpen(path string) (*sqlite.Store, error) { return sqlite.Open(context.Background(), path) }
