package store

import (
	"context"
	"fmt"
	"time"
)

// ServerStore keeps what `golive serve` remembers beside the runs, so that
// a restart forgets none of it: the webhook deliveries seen (replay
// protection), the browser sessions (by the sha256 of their ids only) and
// an audit of server-level events (refused webhook deliveries). Both stores
// implement it; find it with ServerStoreOf.
type ServerStore interface {
	// RecordDelivery records delivery d.ID of the hook of d.Plan, received
	// at d.Time (now when zero), and reports true. When the same plan and id
	// were recorded at or after since, it records nothing and reports false:
	// a replay. An older record (past the retention) is replaced.
	RecordDelivery(ctx context.Context, d Delivery, since time.Time) (bool, error)
	// ForgetDelivery deletes the record of delivery id of plan's hook
	// (the delivery started nothing: a redelivery may try again). None is
	// no error.
	ForgetDelivery(ctx context.Context, plan, id string) error
	// ForgetDeliveries deletes the deliveries received before before and
	// returns how many.
	ForgetDeliveries(ctx context.Context, before time.Time) (int, error)

	// CreateSession records s. ErrInvalid without IDHash, Name or Expires;
	// ErrExists when a session has that IDHash.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session whose id has the sha256 idHash, or
	// ErrNotFound when there is none or it expired at now.
	GetSession(ctx context.Context, idHash string, now time.Time) (Session, error)
	// DeleteSession deletes the session (signing out); none is no error.
	DeleteSession(ctx context.Context, idHash string) error
	// ForgetSessions deletes the sessions expired at now and returns how
	// many.
	ForgetSessions(ctx context.Context, now time.Time) (int, error)

	// AddAudit records a server-level event. The store assigns ID and Time
	// (when zero). ErrInvalid without Kind.
	AddAudit(ctx context.Context, a AuditEntry) (AuditEntry, error)
	// ListAudit returns the entries matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// ForgetAudit deletes the entries recorded before before and returns
	// how many.
	ForgetAudit(ctx context.Context, before time.Time) (int, error)
}

// Delivery is a webhook delivery id seen.
type Delivery struct {
	Plan string
	ID   string
	Time time.Time
}

// Session is a browser session of `golive serve`. The session id itself
// (the cookie) is never stored: only its sha256.
type Session struct {
	IDHash      string // hex sha256 of the session id
	Name        string // the token's name: who acts
	TokenSHA256 string // the token's sha256, as in the tokens file: a revoked or changed token ends the session
	Created     time.Time
	Expires     time.Time
}

// Validate checks what every store requires of a session.
func (s Session) Validate() error {
	if s.IDHash == "" || s.Name == "" || s.Expires.IsZero() {
		return fmt.Errorf("session: id hash, name and expiry are required: %w", ErrInvalid)
	}
	return nil
}

// AuditEntry is one server-level event: something the server refused or
// did that belongs to no run (a webhook delivery with a bad signature).
type AuditEntry struct {
	ID       int64
	Time     time.Time
	Kind     string // what happened: "webhook_refused", ...
	Plan     string // the plan it concerns ("" for none)
	Remote   string // the remote address of the request
	Identity string // who, when known
	Reason   string // why, in words
}

// The kinds of audit entries.
const (
	AuditWebhookRefused = "webhook_refused" // a delivery with a bad or missing signature
)

// AuditFilter selects audit entries.
type AuditFilter struct {
	Plans []string // only these plans (empty: all)
	Limit int      // at most this many (0: 100)
}

// ServerStoreOf returns st, or the store it decorates, as a ServerStore;
// nil when none is.
func ServerStoreOf(st Store) ServerStore {
	for st != nil {
		if s, ok := st.(ServerStore); ok {
			return s
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
	return nil
}
