package store

import "context"

// Redacted returns st with every free text it is given to keep (a run's
// reason, an event's message, output and actor, an approval's comment)
// passed through redact first: whatever path writes to the journal, no
// secret reaches the database file. Output is redacted before the store
// cuts it to its tail. Reads are unchanged.
func Redacted(st Store, redact func(string) string) Store {
	if redact == nil {
		return st
	}
	return &redacted{Store: st, r: redact}
}

type redacted struct {
	Store
	r func(string) string
}

func (s *redacted) CreateRun(ctx context.Context, r Run) (Run, error) {
	r.Reason = s.r(r.Reason)
	return s.Store.CreateRun(ctx, r)
}

func (s *redacted) UpdateRunState(ctx context.Context, id string, from []State, to State, reason string) (Run, error) {
	return s.Store.UpdateRunState(ctx, id, from, to, s.r(reason))
}

func (s *redacted) AppendEvent(ctx context.Context, e Event) (int64, error) {
	e.Message, e.Output, e.Actor = s.r(e.Message), s.r(e.Output), s.r(e.Actor)
	return s.Store.AppendEvent(ctx, e)
}

func (s *redacted) AddApproval(ctx context.Context, a Approval) (Approval, error) {
	a.Comment = s.r(a.Comment)
	return s.Store.AddApproval(ctx, a)
}

// Unwrap returns the store that s decorates.
func (s *redacted) Unwrap() Store { return s.Store }

// PathOf returns where st keeps its state (a file, for SQLite), looking
// through decorators; "" when it cannot say.
func PathOf(st Store) string {
	for st != nil {
		if p, ok := st.(interface{ Path() string }); ok {
			return p.Path()
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return ""
		}
		st = u.Unwrap()
	}
	return ""
}
