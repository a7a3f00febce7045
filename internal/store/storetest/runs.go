package storetest

import (
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

var runIDPattern = regexp.MustCompile(`^r-\d{8}-\d{6}-[0-9a-f]{4}$`)

func testCreateRun(t *testing.T, s store.Store) {
	in := store.Run{
		Plan: "shop-web", Env: "production", Release: "1.4.2", PreviousRelease: "1.4.1",
		Requester: "alice", RequesterVia: store.ViaAPI, RequesterOSUser: "golive", RequesterToken: "alice-ci",
		Ticket: "CHG-1", PlanHash: "sha256:abc", Reason: "created by test",
		Artifacts: store.NewArtifactSums(map[string]string{"app": "ab12", "src:x": "cd34"}),
	}
	r, err := s.CreateRun(ctx(t), in)
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	if !runIDPattern.MatchString(r.ID) {
		t.Errorf("ID = %q, want like r-20261126-021530-ab12", r.ID)
	}
	if r.State != store.StatePending {
		t.Errorf("State = %q, want pending", r.State)
	}
	recent(t, "CreatedAt", r.CreatedAt)
	if !r.StartedAt.IsZero() || !r.FinishedAt.IsZero() {
		t.Errorf("StartedAt, FinishedAt = %v, %v, want zero", r.StartedAt, r.FinishedAt)
	}
	got, err := s.GetRun(ctx(t), r.ID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	if norm(got) != norm(r) {
		t.Errorf("GetRun = %+v\nwant %+v", got, r)
	}
	want := in
	want.ID, want.State, want.CreatedAt, want.UpdatedAt = r.ID, r.State, r.CreatedAt, r.UpdatedAt
	if norm(got) != norm(want) {
		t.Errorf("GetRun = %+v\nwant %+v", got, want)
	}

	// An explicit id is kept, and cannot be used twice.
	in.ID, in.State = "r-explicit", store.StateWaiting
	r2, err := s.CreateRun(ctx(t), in)
	if err != nil || r2.ID != "r-explicit" || r2.State != store.StateWaiting {
		t.Fatalf("CreateRun(explicit id) = %+v, %v", r2, err)
	}
	_, err = s.CreateRun(ctx(t), in)
	wantErr(t, "CreateRun(duplicate id)", err, store.ErrExists)

	// The initial state is journaled.
	events, err := s.Events(ctx(t), r.ID, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("Events = %+v, %v, want one state event", events, err)
	}
	if e := events[0]; e.Seq != 1 || e.Kind != store.KindState || e.Action != "pending" || e.ActorIdentity() != in.RequesterIdentity() {
		t.Errorf("creation event = %+v", e)
	}

	// A requester named without provenance was claimed by this process at
	// the CLI: the store records the OS user beside it. A run recorded
	// without artifacts is not bound to any.
	r3, err := s.CreateRun(ctx(t), store.Run{Plan: "p", Release: "1", Requester: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRun(ctx(t), r3.ID)
	want3 := store.Identity{Name: "mallory", Via: store.ViaCLI, OSUser: store.ProcessOSUser()}
	if err != nil || got.RequesterIdentity() != want3 || got.Artifacts.Bound() {
		t.Errorf("GetRun = %+v, %v; want requester %+v, no artifacts", got, err, want3)
	}
}

func testCreateRunInvalid(t *testing.T, s store.Store) {
	for _, tt := range []struct {
		name string
		run  store.Run
	}{
		{"no plan", store.Run{Release: "1"}},
		{"no release", store.Run{Plan: "p"}},
		{"unknown state", store.Run{Plan: "p", Release: "1", State: "bogus"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateRun(ctx(t), tt.run)
			wantErr(t, "CreateRun", err, store.ErrInvalid)
		})
	}
}

func testGetRunNotFound(t *testing.T, s store.Store) {
	_, err := s.GetRun(ctx(t), "r-missing")
	wantErr(t, "GetRun", err, store.ErrNotFound)
	_, err = s.LatestRun(ctx(t), "nope", "")
	wantErr(t, "LatestRun", err, store.ErrNotFound)
}

// createSpaced creates runs one clock tick apart, so that their order is
// defined.
func createSpaced(t *testing.T, s store.Store, specs [][3]string) []store.Run {
	var runs []store.Run
	for _, sp := range specs {
		runs = append(runs, newRun(t, s, sp[0], sp[1], sp[2]))
		time.Sleep(2 * time.Millisecond)
	}
	return runs
}

func testListRuns(t *testing.T, s store.Store) {
	runs := createSpaced(t, s, [][3]string{
		{"a", "staging", "1"}, {"a", "production", "1"}, {"b", "staging", "1"},
		{"a", "staging", "2"}, {"a", "", "3"},
	})
	setState(t, s, runs[3].ID, store.StateFailed)
	for _, tt := range []struct {
		name   string
		filter store.RunFilter
		want   []int
	}{
		{"all", store.RunFilter{}, []int{4, 3, 2, 1, 0}},
		{"plan", store.RunFilter{Plan: "a"}, []int{4, 3, 1, 0}},
		{"plan env", store.RunFilter{Plan: "a", Env: "staging"}, []int{3, 0}},
		{"env", store.RunFilter{Env: "staging"}, []int{3, 2, 0}},
		{"limit", store.RunFilter{Plan: "a", Limit: 2}, []int{4, 3}},
		{"states", store.RunFilter{States: []store.State{store.StateFailed}}, []int{3}},
		{"states pending", store.RunFilter{Plan: "a", States: []store.State{store.StatePending}}, []int{4, 1, 0}},
		{"no match", store.RunFilter{Plan: "zzz"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListRuns(ctx(t), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []store.Run
			for _, i := range tt.want {
				want = append(want, runs[i])
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("ListRuns(%+v) = %v, want %v", tt.filter, ids(got), ids(want))
			}
		})
	}
}

func testLatestRun(t *testing.T, s store.Store) {
	runs := createSpaced(t, s, [][3]string{
		{"a", "staging", "1"}, {"a", "staging", "2"}, {"a", "production", "3"}, {"a", "", "4"},
	})
	for _, tt := range []struct{ plan, env, want string }{
		{"a", "staging", runs[1].ID},
		{"a", "production", runs[2].ID},
		{"a", "", runs[3].ID},
	} {
		got, err := s.LatestRun(ctx(t), tt.plan, tt.env)
		if err != nil || got.ID != tt.want {
			t.Errorf("LatestRun(%q, %q) = %s, %v, want %s", tt.plan, tt.env, got.ID, err, tt.want)
		}
	}
}

func testUpdateRunState(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	pending, waiting := []store.State{store.StatePending}, []store.State{store.StateWaiting}
	for _, tt := range []struct {
		name    string
		id      string
		from    []store.State
		to      store.State
		wantErr error
		state   store.State // the run's state afterwards
	}{
		{"move", r.ID, pending, store.StateWaiting, nil, store.StateWaiting},
		{"conflict", r.ID, pending, store.StateRunning, store.ErrStateConflict, store.StateWaiting},
		{"one of several", r.ID, []store.State{store.StatePending, store.StateWaiting}, store.StateRunning, nil, store.StateRunning},
		{"not found", "r-missing", pending, store.StateRunning, store.ErrNotFound, store.StateRunning},
		{"no from", r.ID, nil, store.StatePaused, store.ErrInvalid, store.StateRunning},
		{"unknown to", r.ID, waiting, "bogus", store.ErrInvalid, store.StateRunning},
		{"unknown from", r.ID, []store.State{"bogus"}, store.StatePaused, store.ErrInvalid, store.StateRunning},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpdateRunState(ctx(t), tt.id, tt.from, tt.to, "because "+tt.name)
			wantErr(t, "UpdateRunState", err, tt.wantErr)
			if err == nil && (got.State != tt.to || got.Reason != "because "+tt.name) {
				t.Errorf("UpdateRunState = %+v", got)
			}
			cur, err := s.GetRun(ctx(t), r.ID)
			if err != nil || cur.State != tt.state {
				t.Errorf("state afterwards = %s, %v, want %s", cur.State, err, tt.state)
			}
		})
	}
	_, err := s.UpdateRunState(ctx(t), r.ID, waiting, store.StatePaused, "")
	var sce *store.StateConflictError
	if !errors.As(err, &sce) || sce.Current != store.StateRunning || sce.To != store.StatePaused || sce.RunID != r.ID {
		t.Errorf("conflict error = %#v, want *StateConflictError{Current: running}", err)
	}
	// Every change is journaled, in order.
	events, err := s.Events(ctx(t), r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Kind == store.KindState {
			got = append(got, string(e.Action)+": "+e.Message)
		}
	}
	want := []string{"pending: ", "waiting: because move", "running: because one of several"}
	if !slices.Equal(got, want) {
		t.Errorf("state events = %q, want %q", got, want)
	}
}

func testUpdateRunStateTimes(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	steps := []struct {
		to                    store.State
		wantStarted, wantDone bool
	}{
		{store.StateWaiting, false, false},
		{store.StateRunning, true, false},
		{store.StateFailed, true, true},
		{store.StateBackingOut, true, false},
		{store.StateBackedOut, true, true},
	}
	var started time.Time
	for _, st := range steps {
		time.Sleep(2 * time.Millisecond)
		got := setState(t, s, r.ID, st.to)
		if got.StartedAt.IsZero() == st.wantStarted || got.FinishedAt.IsZero() == st.wantDone {
			t.Errorf("after %s: StartedAt %v, FinishedAt %v", st.to, got.StartedAt, got.FinishedAt)
		}
		if st.to == store.StateRunning {
			started = got.StartedAt
		} else if !started.IsZero() && !got.StartedAt.Equal(started) {
			t.Errorf("after %s: StartedAt moved from %v to %v", st.to, started, got.StartedAt)
		}
		if !got.UpdatedAt.After(r.CreatedAt) {
			t.Errorf("after %s: UpdatedAt %v not after CreatedAt %v", st.to, got.UpdatedAt, r.CreatedAt)
		}
		if again, _ := s.GetRun(ctx(t), r.ID); norm(again) != norm(got) {
			t.Errorf("GetRun = %+v\nwant %+v", again, got)
		}
	}
}

func testUpdateRunStateRace(t *testing.T, s store.Store) {
	for round := range 10 {
		r := newRun(t, s, "p", "e", "1")
		errs := race(8, func(i int) error {
			_, err := s.UpdateRunState(ctx(t), r.ID, []store.State{store.StatePending}, store.StateRunning, "racer")
			return err
		})
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrStateConflict):
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1: %s", round, wins, fmtErrs(errs))
		}
	}
}
