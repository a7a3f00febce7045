// Package storetools moves a team's history between stores (Copy) and
// verifies a store (Check). Both work on any store.Dumper, so SQLite and
// PostgreSQL stores copy into each other in every direction.
package storetools

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golive-dev/golive/internal/store"
)

// ErrRefused: Copy refused and wrote nothing (a target that is not empty,
// a source with records it cannot copy, runs that differ between source
// and target).
var ErrRefused = errors.New("copy refused")

// ErrMismatch: the copy was written but the target does not read back as
// the source: the target needs attention.
var ErrMismatch = errors.New("copy does not verify")

// Contents counts what a store (or a copy) holds.
type Contents struct {
	Runs, Events, Approvals, Live, Locks int
	// What `golive serve` keeps: webhook deliveries seen, browser
	// sessions, audit entries.
	Deliveries, Sessions, Audit int
}

// String counts the runs' records always, the server's when there are any.
func (c Contents) String() string {
	s := fmt.Sprintf("%s, %s, %s, %s, %s", plural(c.Runs, "run"), plural(c.Events, "event"),
		plural(c.Approvals, "approval"), plural(c.Live, "live release"), plural(c.Locks, "lock"))
	for _, x := range []struct {
		n    int
		what string
	}{{c.Deliveries, "webhook delivery"}, {c.Sessions, "browser session"}, {c.Audit, "audit entry"}} {
		if x.n > 0 {
			s += ", " + plural(x.n, x.what)
		}
	}
	return s
}

func (c *Contents) addServer(t store.Tables) {
	c.Deliveries, c.Sessions, c.Audit = len(t.Deliveries), len(t.Sessions), len(t.Audit)
}

// Empty reports whether c counts nothing.
func (c Contents) Empty() bool { return c == Contents{} }

func (c *Contents) addRun(rec store.RunRecord) {
	c.Runs++
	c.Events += len(rec.Events)
	c.Approvals += len(rec.Approvals)
}

// CopyOptions say how to copy.
type CopyOptions struct {
	// Merge adds the source's runs to a target that has runs already.
	// Runs in both must be identical (they are left as they are); their
	// approvals get new ids; a host live in both keeps the record that
	// became live last; a lock held in both must be the same lock.
	Merge bool
}

// CopyReport is what Copy did.
type CopyReport struct {
	Copied  Contents // written to the target
	Skipped int      // runs the target had already, identical (Merge)
	// KeptLive counts the hosts whose target record of what is live was
	// newer than the source's, so it was kept (Merge).
	KeptLive int
	// Changed counts text values the target keeps otherwise (PostgreSQL:
	// NUL bytes and invalid UTF-8 become U+FFFD); verification compares
	// them as the target keeps them.
	Changed int
	// Checksum is the sha256 of everything copied, as the source has it
	// and (verified) as the target reads it back.
	Checksum string
	// Verified counts what verification read back from the target.
	Verified Contents
	// Unfinished are the runs the source has in a non-terminal state: a
	// copy taken while a release runs misses what it journals next.
	Unfinished []string
}

// target is what Copy reads from the target before writing.
type target struct {
	contents Contents
	runs     map[string]runSum
	live     map[string]store.LiveRelease
	locks    map[string]store.Lock
	server   serverSet
}

func readTarget(ctx context.Context, dst store.Dumper, merge bool) (*target, error) {
	t := &target{runs: map[string]runSum{}, live: map[string]store.LiveRelease{}, locks: map[string]store.Lock{}}
	tables, err := dst.Export(ctx, func(rec store.RunRecord) error {
		t.contents.addRun(rec)
		t.runs[rec.Run.ID] = sumRun(rec, dst.KeepText, false)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read target: %w", err)
	}
	for _, l := range tables.Live {
		t.live[liveKey(l)] = l
	}
	for _, l := range tables.Locks {
		t.locks[lockKey(l)] = l
	}
	t.contents.Live, t.contents.Locks = len(tables.Live), len(tables.Locks)
	t.contents.addServer(tables)
	t.server = readServer(dst.KeepText, tables, merge)
	return t, nil
}

// Copy copies every run (with its journal, approvals and lease), the live
// releases, the locks and what `golive serve` keeps (webhook deliveries,
// browser sessions, audit) of src into dst, verbatim (ids, seqs, times), in
// one transaction of dst: a copy that fails writes nothing. It refuses a
// dst that holds anything unless opts.Merge. Then it reads dst back and
// compares it with what it copied: counts, each run's last seq and journal
// counter, and a sha256 of every field (ErrMismatch when they differ).
func Copy(ctx context.Context, src, dst store.Dumper, opts CopyOptions) (*CopyReport, error) {
	tgt, err := readTarget(ctx, dst, opts.Merge)
	if err != nil {
		return nil, err
	}
	if !tgt.contents.Empty() && !opts.Merge {
		return nil, fmt.Errorf("%w: the target is not empty: it holds %s; nothing was copied (give --merge to add the source's runs to it)",
			ErrRefused, tgt.contents)
	}
	c := &copier{src: src, dst: dst, tgt: tgt, merge: opts.Merge, rep: &CopyReport{},
		want: map[string]runSum{}, wantLive: map[string]store.LiveRelease{}, wantLocks: map[string]store.Lock{}, wantServer: newServerSet()}
	if err := dst.Import(ctx, c.fill(ctx)); err != nil {
		return nil, err
	}
	if err := c.verify(ctx); err != nil {
		return c.rep, err
	}
	return c.rep, nil
}

type copier struct {
	src, dst   store.Dumper
	tgt        *target
	merge      bool
	rep        *CopyReport
	want       map[string]runSum // the runs copied or found identical, as the target must read them
	wantLive   map[string]store.LiveRelease
	wantLocks  map[string]store.Lock
	wantServer serverSet
}

// fill streams the source into the target's transaction.
func (c *copier) fill(ctx context.Context) func(store.Importer) error {
	return func(im store.Importer) error {
		*c.rep = CopyReport{}
		clear(c.want)
		clear(c.wantLive)
		clear(c.wantLocks)
		c.wantServer = newServerSet()
		tables, err := c.src.Export(ctx, func(rec store.RunRecord) error { return c.putRun(im, rec) })
		if err != nil {
			return err
		}
		if len(tables.Orphans) > 0 {
			return fmt.Errorf("%w: the source holds %s naming runs it does not have (first: %s of run %s); nothing was copied: see `golive store check`",
				ErrRefused, plural(len(tables.Orphans), "record"), tables.Orphans[0].What, tables.Orphans[0].RunID)
		}
		for _, l := range tables.Live {
			if err := c.putLive(im, l); err != nil {
				return err
			}
		}
		for _, l := range tables.Locks {
			if err := c.putLock(im, l); err != nil {
				return err
			}
		}
		return c.putServer(im, tables)
	}
}

func (c *copier) putRun(im store.Importer, rec store.RunRecord) error {
	id := rec.Run.ID
	if !rec.Run.State.Terminal() {
		c.rep.Unfinished = append(c.rep.Unfinished, id)
	}
	c.rep.Changed += c.changed(rec)
	sum := sumRun(rec, c.dst.KeepText, !c.merge)
	c.want[id] = sum
	if have, ok := c.tgt.runs[id]; ok {
		if have.digest != sumRun(rec, c.dst.KeepText, false).digest {
			return fmt.Errorf("%w: run %s is in both stores but differs: the source has %s, the target %s; nothing was copied",
				ErrRefused, id, sum, have)
		}
		c.rep.Skipped++
		return nil
	}
	if err := im.PutRun(rec, c.merge); err != nil {
		return fmt.Errorf("copy run %s: %w", id, err)
	}
	c.rep.Copied.addRun(rec)
	return nil
}

func (c *copier) putLive(im store.Importer, l store.LiveRelease) error {
	k := liveKey(l)
	if have, ok := c.tgt.live[k]; ok && !have.Since.Before(l.Since) {
		c.wantLive[k] = have
		if !sameLive(c.dst.KeepText, have, l) {
			c.rep.KeptLive++
		}
		return nil
	}
	c.wantLive[k] = l
	if err := im.PutLive(l); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	c.rep.Copied.Live++
	return nil
}

func (c *copier) putLock(im store.Importer, l store.Lock) error {
	k := lockKey(l)
	c.wantLocks[k] = l
	if have, ok := c.tgt.locks[k]; ok {
		if sameLock(c.dst.KeepText, have, l) {
			return nil
		}
		return fmt.Errorf("%w: the lock of %s/%s is held in both stores, by run %s in the source and run %s in the target; nothing was copied",
			ErrRefused, l.Plan, l.Env, l.RunID, have.RunID)
	}
	if err := im.PutLock(l); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	c.rep.Copied.Locks++
	return nil
}

// changed counts the text values of rec the target keeps otherwise.
func (c *copier) changed(rec store.RunRecord) int {
	n := 0
	count := func(vs ...string) { n += changedIn(c.dst.KeepText, vs...) }
	r := rec.Run
	count(r.Reason, r.Requester, r.Ticket, r.Release, r.PreviousRelease)
	for _, e := range rec.Events {
		count(e.Output, e.Message, e.Actor, e.Stage, e.Host, e.Step)
	}
	for _, a := range rec.Approvals {
		count(a.Comment, a.Approver, a.Gate)
	}
	return n
}

// verify reads the target back and compares it with what was copied.
func (c *copier) verify(ctx context.Context) error {
	got := map[string]runSum{}
	var v Contents
	tables, err := c.dst.Export(ctx, func(rec store.RunRecord) error {
		if _, ok := c.want[rec.Run.ID]; ok || !c.merge {
			got[rec.Run.ID] = sumRun(rec, c.dst.KeepText, !c.merge)
			v.addRun(rec)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var problems []string
	for _, id := range sortedKeys(c.want) {
		want, have := c.want[id], got[id]
		switch _, ok := got[id]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("run %s is missing from the target", id))
		case want.maxSeq != have.maxSeq || want.lastSeq != have.lastSeq || want.events != have.events || want.approvals != have.approvals:
			problems = append(problems, fmt.Sprintf("run %s: the source has %s, the target %s", id, want, have))
		case want.digest != have.digest:
			problems = append(problems, fmt.Sprintf("run %s: same counts, different content (checksums differ)", id))
		}
	}
	for _, id := range sortedKeys(got) {
		if _, ok := c.want[id]; !ok {
			problems = append(problems, fmt.Sprintf("run %s is in the target but was not copied", id))
		}
	}
	gotLive := map[string]store.LiveRelease{}
	for _, l := range tables.Live {
		if _, ok := c.wantLive[liveKey(l)]; ok || !c.merge {
			gotLive[liveKey(l)] = l
			v.Live++
		}
	}
	problems = append(problems, compareMaps("live release of", c.wantLive, gotLive, keyName, func(a, b store.LiveRelease) bool { return sameLive(c.dst.KeepText, a, b) })...)
	gotLocks := map[string]store.Lock{}
	for _, l := range tables.Locks {
		if _, ok := c.wantLocks[lockKey(l)]; ok || !c.merge {
			gotLocks[lockKey(l)] = l
			v.Locks++
		}
	}
	problems = append(problems, compareMaps("lock of", c.wantLocks, gotLocks, keyName, func(a, b store.Lock) bool { return sameLock(c.dst.KeepText, a, b) })...)
	gotServer := readServer(c.dst.KeepText, tables, c.merge)
	if c.merge {
		gotServer = gotServer.only(c.wantServer)
	}
	v.Deliveries, v.Sessions, v.Audit = gotServer.count()
	problems = append(problems, compareServer(c.dst.KeepText, c.wantServer, gotServer, c.merge)...)
	c.rep.Verified = v
	want := c.checksum(c.want, c.wantLive, c.wantLocks, c.wantServer)
	have := c.checksum(got, gotLive, gotLocks, gotServer)
	if len(problems) == 0 && want != have {
		problems = append(problems, "the checksums differ")
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("and %d more", len(problems)-10))
		}
		return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(problems, "; "))
	}
	c.rep.Checksum = want
	return nil
}

// checksum is the sha256 of runs (by id), live releases, locks and the
// server tables.
func (c *copier) checksum(runs map[string]runSum, live map[string]store.LiveRelease, locks map[string]store.Lock, server serverSet) string {
	w := newHasher(c.dst.KeepText)
	for _, id := range sortedKeys(runs) {
		w.str(id)
		d := runs[id].digest
		w.h.Write(d[:])
	}
	for _, k := range sortedKeys(live) {
		sumLive(w, live[k])
	}
	for _, k := range sortedKeys(locks) {
		sumLock(w, locks[k])
	}
	sumServer(w, server, !c.merge)
	d := w.sum()
	return hex.EncodeToString(d[:])
}

// keyName names a record by its key: "web/prod/h1".
func keyName(k string) string { return strings.ReplaceAll(k, "\x00", "/") }

func compareMaps[T any](what string, want, got map[string]T, name func(string) string, same func(a, b T) bool) []string {
	var problems []string
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the %s %s is missing from the target", what, name(k)))
		case !same(want[k], g):
			problems = append(problems, fmt.Sprintf("the %s %s differs in the target", what, name(k)))
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			problems = append(problems, fmt.Sprintf("the %s %s is in the target but was not copied", what, name(k)))
		}
	}
	return problems
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// changedIn counts the values of vs that keep changes.
func changedIn(keep func(string) string, vs ...string) int {
	n := 0
	for _, v := range vs {
		if keep(v) != v {
			n++
		}
	}
	return n
}
