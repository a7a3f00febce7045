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
