package sqlite

import "context"

// Pragmas returns the values of the per-connection pragmas the store sets, as
// one of its connections sees them.
func (s *Store) Pragmas(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	for _, p := range []string{"foreign_keys", "synchronous", "busy_timeout"} {
		var v int64
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err == nil {
			out[p] = v
		}
	}
	return out
}

// HoldWrites takes the store's write mutex, so that the append writer (and
// every other write) waits, until the returned function is called.
func (s *Store) HoldWrites() (release func()) {
	s.mu.Lock()
	return s.mu.Unlock
}

// AppendsQueued returns how many AppendEvent requests have been queued.
func (s *Store) AppendsQueued() int64 { return s.queued.Load() }

// AppendCommits returns how many append batches have been committed.
func (s *Store) AppendCommits() int64 { return s.commits.Load() }

// SchemaV1 is the first schema, to build databases of older golives.
const SchemaV1 = schemaV1
