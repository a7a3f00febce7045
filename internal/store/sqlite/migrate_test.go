package sqlite_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// A lock written by a golive before pid spaces were recorded comes back
// with an empty PIDSpace, and HolderGone judges it by its heartbeat only:
// its pid may be from another pid namespace.
func TestMigrateV1Lock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := rawDB(t, path)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL) STRICT`,
		sqlite.SchemaV1,
		`INSERT INTO schema_migrations VALUES (1, 'v1', 0)`,
		`INSERT INTO runs (id, plan, release, state, created_us, updated_us) VALUES ('r-1', 'p', '1', 'running', 0, 0)`,
		`INSERT INTO locks (plan, env, run_id, holder_pid, holder_host, acquired_us, heartbeat_us) VALUES ('p', '', 'r-1', 999999, 'here', 0, ` + strconv.FormatInt(time.Now().UnixMicro(), 10) + `)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s := open(t, path)
	l, err := s.GetLock(t.Context(), "p", "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Holder != (store.Holder{PID: 999999, Hostname: "here"}) {
		t.Errorf("migrated lock holder = %+v", l.Holder)
	}
	here := store.Holder{PID: 1, Hostname: "here", PIDSpace: store.ThisPIDSpace()}
	if store.HolderGone(l, time.Now(), here, func(int) bool { return false }) {
		t.Error("a migrated lock with a fresh heartbeat is judged gone by its pid alone")
	}
}
