package postgres

// Commits returns how many append batches the store committed.
func (s *Store) Commits() int64 { return s.commits.Load() }
