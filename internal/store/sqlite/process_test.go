package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// The tests below run this test binary a second time as a child process that
// works on the same database; the environment variable selects what it does.
const (
	childEnv  = "GOLIVE_SQLITE_TEST_CHILD" // "append N" or "append-forever"
	childPath = "GOLIVE_SQLITE_TEST_DB"
	childRun  = "GOLIVE_SQLITE_TEST_RUN"
)

// TestChild is the child process's entry point; it does nothing in a normal
// test run.
func TestChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("only runs as a child process")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, os.Getenv(childPath))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(1)
	}
	n := -1 // forever
	if _, err := fmt.Sscanf(mode, "append %d", &n); err != nil && mode != "append-forever" {
		fmt.Fprintln(os.Stderr, "child: bad mode", mode)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; n < 0 || i < n; i++ {
		seq, err := s.AppendEvent(ctx, store.Event{RunID: os.Getenv(childRun), Kind: "host",
			Action: "started", Host: "child", Message: strconv.Itoa(i)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: append:", err)
			os.Exit(1)
		}
		// Report only what AppendEvent has acknowledged.
		fmt.Fprintln(out, seq)
		out.Flush()
	}
	s.Close()
	os.Exit(0)
}

func child(t *testing.T, path, runID, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPath+"="+path, childRun+"="+runID)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestTwoProcesses has a second process append to a run while this one
// appends to it and reads it: busy_timeout must make the writers wait for
// each other instead of failing with SQLITE_BUSY.
func TestTwoProcesses(t *testing.T) {
	const each = 200
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := child(t, path, r.ID, fmt.Sprintf("append %d", each))
	var childOut []byte
	var wg sync.WaitGroup
	wg.Go(func() { childOut, err = cmd.Output() })

	var mine []int64
	for i := range each {
		seq, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Host: "parent"})
		if err != nil {
			t.Fatalf("parent append %d: %v", i, err)
		}
		mine = append(mine, seq)
		if _, err := s.Events(ctx, r.ID, seq-5); err != nil {
			t.Fatalf("parent read: %v", err)
		}
	}
	wg.Wait()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	theirs := parseSeqs(t, childOut)
	if len(theirs) != each {
		t.Fatalf("child appended %d events, want %d", len(theirs), each)
	}
	all := slices.Sorted(slices.Values(append(mine, theirs...)))
	for i, seq := range all {
		if seq != int64(i+2) {
			t.Fatalf("seqs across processes not unique and gapless at %d: %d", i, seq)
		}
	}
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil || len(events) != 2*each+1 {
		t.Fatalf("Events = %d, %v, want %d", len(events), err, 2*each+1)
	}
}

// TestKillDurability kills a child process with SIGKILL while it appends:
// every event it was told was appended must be in the journal.
func TestKillDurability(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := child(t, path, r.ID, "append-forever")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(acked) < 100 {
		seq, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, seq)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("child acknowledged only %d events", len(acked))
	}
	s.Close()
	s = open(t, path)
	events, err := s.Events(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, e := range events {
		stored[e.Seq] = true
	}
	for _, seq := range acked {
		if !stored[seq] {
			t.Errorf("acknowledged event %d lost after kill -9", seq)
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(events)-1)
}

func parseSeqs(t *testing.T, out []byte) []int64 {
	t.Helper()
	var seqs []int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		seq, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child output %q: %v", sc.Text(), err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// rawDB opens path without the store, to inspect it.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAppendEvent measures durable appends (one fsync each) to one run.
func BenchmarkAppendEvent(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		b.Fatal(err)
	}
	e := store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Stage: "web",
		Host: "web-1", Step: "restart", ExitCode: store.ExitCode(0), Duration: time.Second,
		Output: "restarted shop.service\n"}
	start := time.Now()
	for b.Loop() {
		if _, err := s.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
