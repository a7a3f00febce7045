package storetest

import (
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

func testLive(t *testing.T, s store.Store) {
	r1, r2 := newRun(t, s, "p", "prod", "1"), newRun(t, s, "p", "prod", "2")
	if live, err := s.Live(ctx(t), "p", "prod"); err != nil || len(live) != 0 {
		t.Fatalf("Live(empty) = %v, %v, want empty map", live, err)
	}
	set := func(plan, env, host, rel, run string) {
		t.Helper()
		if err := s.SetLive(ctx(t), plan, env, host, rel, run); err != nil {
			t.Fatalf("SetLive(%s %s %s %s): %v", plan, env, host, rel, err)
		}
	}
	set("p", "prod", "web-1", "1", r1.ID)
	set("p", "prod", "web-2", "1", r1.ID)
	set("p", "prod", "web-1", "2", r2.ID) // replaces
	set("p", "staging", "web-1", "9", r2.ID)
	set("q", "prod", "web-1", "8", r2.ID)
	live, err := s.Live(ctx(t), "p", "prod")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for h, l := range live {
		if l.Host != h || l.Plan != "p" || l.Env != "prod" {
			t.Errorf("live[%s] = %+v", h, l)
		}
		recent(t, "Since", l.Since)
		got[h] = l.Release + "@" + l.RunID
	}
	want := map[string]string{"web-1": "2@" + r2.ID, "web-2": "1@" + r1.ID}
	if !maps.Equal(got, want) {
		t.Errorf("Live = %v, want %v", got, want)
	}
	err = s.SetLive(ctx(t), "p", "prod", "web-3", "1", "r-missing")
	wantErr(t, "SetLive(unknown run)", err, store.ErrNotFound)
	err = s.SetLive(ctx(t), "p", "prod", "", "1", r1.ID)
	wantErr(t, "SetLive(no host)", err, store.ErrInvalid)

	// DeleteLive forgets one host only; forgetting nothing is no error.
	if err := s.DeleteLive(ctx(t), "p", "prod", "web-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLive(ctx(t), "p", "prod", "web-9"); err != nil {
		t.Errorf("DeleteLive(unknown host) = %v, want nil", err)
	}
	live, _ = s.Live(ctx(t), "p", "prod")
	if _, still := live["web-1"]; still || len(live) != 1 {
		t.Errorf("after DeleteLive(web-1): %v", live)
	}
	if other, _ := s.Live(ctx(t), "p", "staging"); len(other) != 1 {
		t.Errorf("DeleteLive touched another environment: %v", other)
	}
	wantErr(t, "DeleteLive(no host)", s.DeleteLive(ctx(t), "p", "prod", ""), store.ErrInvalid)
}

func testPreviousRelease(t *testing.T, s store.Store) {
	for _, tt := range []struct {
		name      string
		live      [][2]string // host, release, set in this order
		succeeded []string    // releases of runs that succeeded, oldest first
		want      string
	}{
		{"first release", nil, nil, ""},
		{"all hosts", [][2]string{{"a", "1"}, {"b", "1"}}, nil, "1"},
		{"most hosts", [][2]string{{"a", "1"}, {"b", "2"}, {"c", "1"}}, []string{"2"}, "1"},
		{"tie goes to newest", [][2]string{{"a", "1"}, {"b", "2"}}, nil, "2"},
		{"tie goes to newest reversed", [][2]string{{"b", "2"}, {"a", "1"}}, nil, "1"},
		{"last succeeded run", nil, []string{"3", "4"}, "4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := "prev-" + tt.name
			for _, rel := range tt.succeeded {
				r := newRun(t, s, plan, "prod", rel)
				setState(t, s, r.ID, store.StateSucceeded)
				newRun(t, s, plan, "prod", rel+"-later") // a newer run that did not succeed
				time.Sleep(2 * time.Millisecond)
			}
			r := newRun(t, s, plan, "prod", "x")
			for _, hl := range tt.live {
				if err := s.SetLive(ctx(t), plan, "prod", hl[0], hl[1], r.ID); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			got, err := s.PreviousRelease(ctx(t), plan, "prod")
			if err != nil || got != tt.want {
				t.Errorf("PreviousRelease = %q, %v, want %q", got, err, tt.want)
			}
			if other, err := s.PreviousRelease(ctx(t), plan, "staging"); err != nil || other != "" {
				t.Errorf("PreviousRelease(other env) = %q, %v, want empty", other, err)
			}
		})
	}
}

func holder(pid int) store.Holder { return store.Holder{PID: pid, Hostname: "ctl-1"} }

func lockFor(r store.Run, pid int) store.Lock {
	return store.Lock{Plan: r.Plan, Env: r.Env, RunID: r.ID, Holder: holder(pid), Requester: r.Requester}
}

func acquire(t *testing.T, s store.Store, l store.Lock) store.Lock {
	t.Helper()
	got, err := s.AcquireLock(ctx(t), l)
	if err != nil {
		t.Fatalf("AcquireLock(%s): %v", l.RunID, err)
	}
	return got
}

func testLock(t *testing.T, s store.Store) {
	r1, r2 := newRun(t, s, "p", "prod", "1"), newRun(t, s, "p", "prod", "2")
	_, err := s.GetLock(ctx(t), "p", "prod")
	wantErr(t, "GetLock(none)", err, store.ErrNotFound)

	l := acquire(t, s, lockFor(r1, 100))
	recent(t, "AcquiredAt", l.AcquiredAt)
	recent(t, "HeartbeatAt", l.HeartbeatAt)
	got, err := s.GetLock(ctx(t), "p", "prod")
	if err != nil || got.RunID != r1.ID || got.Holder != holder(100) || got.Requester != "alice" ||
		!got.AcquiredAt.Equal(l.AcquiredAt) {
		t.Errorf("GetLock = %+v, %v, want %+v", got, err, l)
	}

	for _, tt := range []struct {
		name string
		l    store.Lock
	}{
		{"other run", lockFor(r2, 200)},
		{"same run, other holder", lockFor(r1, 101)},
	} {
		_, err := s.AcquireLock(ctx(t), tt.l)
		var le *store.LockedError
		if !errors.As(err, &le) || !errors.Is(err, store.ErrLocked) || le.Lock.RunID != r1.ID || le.Lock.Holder != holder(100) {
			t.Errorf("AcquireLock(%s) = %v, want *LockedError held by %s", tt.name, err, r1.ID)
		}
	}
	// The same run and holder: idempotent.
	if again, err := s.AcquireLock(ctx(t), lockFor(r1, 100)); err != nil || !again.AcquiredAt.Equal(l.AcquiredAt) {
		t.Errorf("AcquireLock(again) = %+v, %v", again, err)
	}
	// Other environments and plans have their own locks.
	r3, r4 := newRun(t, s, "p", "staging", "1"), newRun(t, s, "q", "prod", "1")
	acquire(t, s, lockFor(r3, 300))
	acquire(t, s, lockFor(r4, 400))
	locks, err := s.ListLocks(ctx(t))
	if err != nil || len(locks) != 3 || locks[0].RunID != r1.ID || locks[1].RunID != r3.ID || locks[2].RunID != r4.ID {
		t.Errorf("ListLocks = %+v, %v", locks, err)
	}
	for _, tt := range []struct {
		name string
		l    store.Lock
	}{
		{"no plan", store.Lock{RunID: r1.ID, Holder: holder(1)}},
		{"no run", store.Lock{Plan: "p", Holder: holder(1)}},
		{"no hostname", store.Lock{Plan: "p", RunID: r1.ID, Holder: store.Holder{PID: 1}}},
	} {
		_, err := s.AcquireLock(ctx(t), tt.l)
		wantErr(t, "AcquireLock("+tt.name+")", err, store.ErrInvalid)
	}
	_, err = s.AcquireLock(ctx(t), store.Lock{Plan: "z", RunID: "r-missing", Holder: holder(1)})
	wantErr(t, "AcquireLock(unknown run)", err, store.ErrNotFound)
}

func testLockHeartbeat(t *testing.T, s store.Store) {
	r1, r2 := newRun(t, s, "p", "prod", "1"), newRun(t, s, "p", "prod", "2")
	l := acquire(t, s, lockFor(r1, 100))
	time.Sleep(5 * time.Millisecond)
	if err := s.Heartbeat(ctx(t), l); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	got, err := s.GetLock(ctx(t), "p", "prod")
	if err != nil || !got.HeartbeatAt.After(l.HeartbeatAt) || !got.AcquiredAt.Equal(l.AcquiredAt) {
		t.Errorf("after Heartbeat: %+v, %v; heartbeat was %v", got, err, l.HeartbeatAt)
	}
	for _, tt := range []struct {
		name string
		l    store.Lock
		want error
	}{
		{"other holder", lockFor(r1, 999), store.ErrLocked},
		{"other run", lockFor(r2, 100), store.ErrLocked},
		{"no lock", store.Lock{Plan: "p", Env: "staging", RunID: r1.ID, Holder: holder(100)}, store.ErrNotFound},
	} {
		wantErr(t, "Heartbeat("+tt.name+")", s.Heartbeat(ctx(t), tt.l), tt.want)
	}
}

func testLockRelease(t *testing.T, s store.Store) {
	r1, r2 := newRun(t, s, "p", "prod", "1"), newRun(t, s, "p", "prod", "2")
	acquire(t, s, lockFor(r1, 100))
	wantErr(t, "ReleaseLock(other run)", s.ReleaseLock(ctx(t), "p", "prod", r2.ID), store.ErrLocked)
	wantErr(t, "ReleaseLock", s.ReleaseLock(ctx(t), "p", "prod", r1.ID), nil)
	wantErr(t, "ReleaseLock(again)", s.ReleaseLock(ctx(t), "p", "prod", r1.ID), store.ErrNotFound)
	_, err := s.GetLock(ctx(t), "p", "prod")
	wantErr(t, "GetLock(released)", err, store.ErrNotFound)
	acquire(t, s, lockFor(r2, 200)) // free for the next run
}

func testStealLock(t *testing.T, s store.Store) {
	r1, r2 := newRun(t, s, "p", "prod", "1"), newRun(t, s, "p", "prod", "2")
	old := acquire(t, s, lockFor(r1, 100))
	time.Sleep(2 * time.Millisecond)

	// Another run takes over.
	next, err := s.StealLock(ctx(t), old, lockFor(r2, 200))
	if err != nil || next.RunID != r2.ID || !next.AcquiredAt.After(old.AcquiredAt) {
		t.Fatalf("StealLock = %+v, %v", next, err)
	}
	// The old holder learns it lost the lock.
	wantErr(t, "Heartbeat(old holder)", s.Heartbeat(ctx(t), old), store.ErrLocked)
	// Stealing with stale expectations fails.
	_, err = s.StealLock(ctx(t), old, lockFor(r1, 300))
	var le *store.LockedError
	if !errors.As(err, &le) || le.Lock.RunID != r2.ID {
		t.Errorf("StealLock(stale) = %v, want *LockedError held by %s", err, r2.ID)
	}
	// The same run resumed by a new process.
	resumed, err := s.StealLock(ctx(t), next, lockFor(r2, 201))
	if err != nil || resumed.Holder != holder(201) {
		t.Errorf("StealLock(resume) = %+v, %v", resumed, err)
	}
	wantErr(t, "Heartbeat(resumed)", s.Heartbeat(ctx(t), resumed), nil)
	wantErr(t, "Heartbeat(pre-resume)", s.Heartbeat(ctx(t), next), store.ErrLocked)

	other := lockFor(r1, 1)
	other.Env = "staging"
	_, err = s.StealLock(ctx(t), resumed, other)
	wantErr(t, "StealLock(other env)", err, store.ErrInvalid)
	_, err = s.StealLock(ctx(t), other, other)
	wantErr(t, "StealLock(no lock)", err, store.ErrNotFound)
}

func testAcquireLockRace(t *testing.T, s store.Store) {
	for round := range 10 {
		env := fmt.Sprint("env-", round)
		runs := make([]store.Run, 8)
		for i := range runs {
			runs[i] = newRun(t, s, "p", env, "1")
		}
		errs := race(len(runs), func(i int) error {
			_, err := s.AcquireLock(ctx(t), lockFor(runs[i], 1000+i))
			return err
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: two winners: %s", round, fmtErrs(errs))
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrLocked):
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no winner: %s", round, fmtErrs(errs))
		}
		if l, err := s.GetLock(ctx(t), "p", env); err != nil || l.RunID != runs[winner].ID {
			t.Errorf("round %d: lock = %+v, %v, want held by the winner", round, l, err)
		}
	}
}

func testStealLockRace(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "prod", "1")
	old := acquire(t, s, lockFor(r, 100))
	errs := race(8, func(i int) error {
		_, err := s.StealLock(ctx(t), old, lockFor(r, 200+i)) // resumed by 8 processes at once
		return err
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrLocked):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d winners, want 1: %s", wins, fmtErrs(errs))
	}
}

func testApprovals(t *testing.T, s store.Store) {
	sums := store.NewArtifactSums(map[string]string{"app": "ab12"})
	r, err := s.CreateRun(ctx(t), store.Run{Plan: "p", Env: "prod", Release: "1.4.2", PlanHash: "h1", Requester: "alice", Artifacts: sums})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListApprovals(ctx(t), r.ID); err != nil || len(list) != 0 {
		t.Errorf("ListApprovals(none) = %v, %v", list, err)
	}
	when := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	in := []store.Approval{
		{RunID: r.ID, Approver: "bob", Decision: store.DecisionApprove, Comment: "lgtm"},
		{RunID: r.ID, Approver: "carol", Decision: store.DecisionReject, Gate: "stage:web",
			PlanHash: "h0", Release: "1.4.1", Env: "staging", Time: when,
			Via: store.ViaAPI, OSUser: "golive", Token: "carol", Artifacts: store.NewArtifactSums(nil)},
	}
	for i, a := range in {
		got, err := s.AddApproval(ctx(t), a)
		if err != nil {
			t.Fatalf("AddApproval %d: %v", i, err)
		}
		if i > 0 && got.ID <= in[i-1].ID {
			t.Errorf("approval ids not increasing: %d after %d", got.ID, in[i-1].ID)
		}
		in[i] = got
	}
	recent(t, "Time", in[0].Time)
	if a := in[0]; a.PlanHash != "h1" || a.Release != "1.4.2" || a.Env != "prod" || a.Artifacts != sums {
		t.Errorf("approval not bound to the run: %+v", a)
	}
	if id := in[0].Identity(); id != (store.Identity{Name: "bob", Via: store.ViaCLI, OSUser: store.ProcessOSUser()}) {
		t.Errorf("approval identity = %+v, want bob at the CLI with this process's OS user", id)
	}
	if a := in[1]; a.PlanHash != "h0" || a.Release != "1.4.1" || a.Env != "staging" || !a.Time.Equal(when) || a.Artifacts != "{}" || a.Token != "carol" {
		t.Errorf("approval binding overridden: %+v", a)
	}
	list, err := s.ListApprovals(ctx(t), r.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListApprovals = %+v, %v", list, err)
	}
	for i := range list {
		list[i].Time, in[i].Time = normTime(list[i].Time), normTime(in[i].Time)
		if list[i] != in[i] {
			t.Errorf("approval %d = %+v\nwant %+v", i, list[i], in[i])
		}
	}
	for _, tt := range []struct {
		name string
		a    store.Approval
		want error
	}{
		{"no approver", store.Approval{RunID: r.ID, Decision: store.DecisionApprove}, store.ErrInvalid},
		{"bad decision", store.Approval{RunID: r.ID, Approver: "bob", Decision: "maybe"}, store.ErrInvalid},
		{"unknown run", store.Approval{RunID: "r-missing", Approver: "bob", Decision: store.DecisionApprove}, store.ErrNotFound},
	} {
		_, err := s.AddApproval(ctx(t), tt.a)
		wantErr(t, "AddApproval("+tt.name+")", err, tt.want)
	}
	_, err = s.ListApprovals(ctx(t), "r-missing")
	wantErr(t, "ListApprovals(unknown run)", err, store.ErrNotFound)
}

// testLockPIDSpace: a holder is its pid, hostname and pid space. The
// space is stored and returned, and two controllers that differ only by
// it (containers on the host network, each in its own pid namespace,
// with the same pid) are different holders: neither can refresh, take or
// be mistaken for the other's lock. The lock as stored is judged by
// HolderGone by its heartbeat, not by a pid that is invisible here.
func testLockPIDSpace(t *testing.T, s store.Store) {
	r1 := newRun(t, s, "p", "prod", "1")
	inA := store.Holder{PID: 7, Hostname: "ctl-1", PIDSpace: "boot:b1 pid:[4026532178]"}
	inB := store.Holder{PID: 7, Hostname: "ctl-1", PIDSpace: "boot:b1 pid:[4026532301]"}
	l := store.Lock{Plan: "p", Env: "prod", RunID: r1.ID, Holder: inA, Requester: "alice"}
	l = acquire(t, s, l)
	got, err := s.GetLock(ctx(t), "p", "prod")
	if err != nil || got.Holder != inA {
		t.Fatalf("GetLock = %+v, %v, want held by %+v (with its pid space)", got, err, inA)
	}
	if locks, err := s.ListLocks(ctx(t)); err != nil || len(locks) != 1 || locks[0].Holder != inA {
		t.Errorf("ListLocks = %+v, %v, want the holder with its pid space", locks, err)
	}
	other := l
	other.Holder = inB
	_, err = s.AcquireLock(ctx(t), other)
	var le *store.LockedError
	if !errors.As(err, &le) || le.Lock.Holder != inA {
		t.Errorf("AcquireLock(same pid and host, other pid space) = %v, want *LockedError held by %+v", err, inA)
	}
	wantErr(t, "Heartbeat(other pid space)", s.Heartbeat(ctx(t), other), store.ErrLocked)
	_, err = s.StealLock(ctx(t), other, other)
	wantErr(t, "StealLock(expected in another pid space)", err, store.ErrLocked)
	wantErr(t, "Heartbeat(holder)", s.Heartbeat(ctx(t), l), nil)

	// Seen from B: pid 7 may not exist (or be another process) there;
	// only the heartbeat says whether A is gone.
	got, _ = s.GetLock(ctx(t), "p", "prod")
	notVisible := func(int) bool { return false }
	if store.HolderGone(got, time.Now(), inB, notVisible) {
		t.Errorf("HolderGone(fresh heartbeat, seen from another pid namespace) = true: a live controller's lock would be stolen")
	}
	if !store.HolderGone(got, got.HeartbeatAt.Add(store.HeartbeatTimeout+time.Second), inB, notVisible) {
		t.Errorf("HolderGone(stale heartbeat, seen from another pid namespace) = false")
	}
	if !store.HolderGone(got, time.Now(), inA, notVisible) {
		t.Errorf("HolderGone(pid gone, seen from its own pid namespace) = false")
	}
}
