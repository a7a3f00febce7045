package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestStagesBackedOutNewestFirst: a failure in the second stage backs
// out the second stage's hosts, then the first stage's.
func TestStagesBackedOutNewestFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, `stages:
  - name: db
    on: h1
    steps:
      - {name: migrate, run: echo migrate >> log, backout: echo undo-migrate >> log}
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: 'echo b >> log; [ "$GOLIVE_HOST" != h3 ]', backout: echo undo-b >> log}
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"migrate", "a", "b", "undo-b", "undo-a", "undo-migrate"})
	evs := f.events(out.Run.ID)
	var lastWeb, firstDB int64
	for _, e := range filter(evs, match{kind: store.KindStep, action: engine.ActionBackoutStarted}) {
		if e.Stage == "web" {
			lastWeb = max(lastWeb, e.Seq)
		} else if firstDB == 0 {
			firstDB = e.Seq
		}
	}
	if firstDB == 0 || firstDB < lastWeb {
		t.Errorf("stage db backed out at seq %d, before stage web finished backing out (seq %d)", firstDB, lastWeb)
	}
}

// TestParallelLimit: Options.Parallel 1 works on one host of a batch at a
// time.
func TestParallelLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: 'echo a >> log; sleep 0.05', backout: echo undo-a >> log}
`)
	out := f.start(f.engine(func(o *engine.Options) { o.Parallel = 1 }))
	f.wantState(out, store.StateSucceeded)
	busy := 0
	for _, e := range filter(f.events(out.Run.ID), match{kind: store.KindHost}) {
		switch e.Action {
		case store.ActionStarted:
			busy++
		case store.ActionFinished:
			busy--
		}
		if busy > 1 {
			t.Fatalf("seq %d: %d hosts at work with Parallel 1", e.Seq, busy)
		}
	}
}

// TestUploadArtifact: an upload puts the verified artifact on the host;
// the same upload again is skipped.
func TestUploadArtifact(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `release:
  artifacts:
    app: {path: app.tar.gz}
stages:
  - name: web
    on: web
    steps:
      - {name: up, upload: {artifact: app, to: "releases/app.tar.gz", mode: "0640"}, backout: rm -f releases/app.tar.gz}
`)
	src := filepath.Join(f.root, "app.tar.gz")
	data := []byte("release 2.0 payload")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	arts := map[string]artifact.File{"app": {Path: src, SHA256: hex.EncodeToString(sum[:]), Checked: true}}
	e := f.engine(func(o *engine.Options) { o.Artifacts = arts })
	dst := filepath.Join(f.hostDir("h1"), "releases", "app.tar.gz")
	hexSum := hex.EncodeToString(sum[:])
	for i, want := range []string{"uploaded 19 bytes to releases/app.tar.gz", "skipped: releases/app.tar.gz already has sha256 " + hexSum[:12]} {
		out := f.start(e)
		f.wantState(out, store.StateSucceeded)
		got, err := os.ReadFile(dst)
		if err != nil || string(got) != string(data) {
			t.Fatalf("run %d: %s = %q, %v", i+1, dst, got, err)
		}
		fin := filter(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionFinished, step: "up"})
		if len(fin) != 1 || fin[0].Output != want {
			t.Errorf("run %d: finished events %+v, want output %q...", i+1, fin, want)
		}
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, %v; want 0640", fi.Mode().Perm(), err)
	}
}
