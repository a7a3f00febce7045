package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

// What the server remembers beside the runs (webhook deliveries seen,
// browser sessions, the audit of refusals) is kept in one store, the
// server's: --store (or $GOLIVE_STORE) when given, else .golive/state.db
// beside the first PLAN_OR_DIR argument (in it, for a directory), the
// store the CLI uses for a plan there. A restart forgets none of it.

// deliveryRetention is how long a webhook delivery id is remembered: a
// delivery seen again within it is a replay.
const deliveryRetention = 7 * 24 * time.Hour

// auditRetention is how long an audit entry is kept.
const auditRetention = 90 * 24 * time.Hour

// refusalsPerMinute bounds the refusals recorded (audit and log) a
// minute: a flood of bad deliveries must not fill the store. Those past
// it are counted in the next one recorded.
const refusalsPerMinute = 60

// refusalLimit counts the refusals of the current minute.
type refusalLimit struct {
	mu      sync.Mutex
	minute  time.Time
	n       int
	dropped int
}

// allow reports whether a refusal at now may be recorded, and how many
// were not recorded before it.
func (l *refusalLimit) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := now.Truncate(time.Minute); !m.Equal(l.minute) {
		l.minute, l.n = m, 0
	}
	if l.n >= refusalsPerMinute {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped := l.dropped
	l.dropped = 0
	return true, dropped
}

// stateAnchor is the plan file whose default store is the server's.
func stateAnchor(paths []string) string {
	if len(paths) == 0 {
		return "golive.yaml"
	}
	if fi, err := os.Stat(paths[0]); err == nil && fi.IsDir() {
		return filepath.Join(paths[0], "golive.yaml")
	}
	return paths[0]
}

// openState opens the server's store.
func (s *Server) openState(ctx context.Context) error {
	st, err := s.svc.OpenStore(ctx, stateAnchor(s.cfg.Paths), release.StoreMode{})
	if err != nil {
		return fmt.Errorf("the server's store: %w", err)
	}
	ss := store.ServerStoreOf(st)
	if ss == nil {
		st.Close()
		return fmt.Errorf("the server's store (%T) cannot keep sessions and webhook deliveries", st)
	}
	s.state, s.stateStore = ss, st
	s.sessions.s = s
	return nil
}

// tidyState forgets expired sessions and deliveries past their
// retention, now and every hour until ctx ends.
func (s *Server) tidyState(ctx context.Context) {
	for {
		now := time.Now()
		if _, err := s.state.ForgetSessions(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Warn("forgetting expired sessions", "err", err)
		}
		if _, err := s.state.ForgetDeliveries(ctx, now.Add(-deliveryRetention)); err != nil && ctx.Err() == nil {
			s.log.Warn("forgetting old webhook deliveries", "err", err)
		}
		if _, err := s.state.ForgetAudit(ctx, now.Add(-auditRetention)); err != nil && ctx.Err() == nil {
			s.log.Warn("forgetting old audit entries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// firstDelivery records a webhook delivery id of plan and reports
// whether it is new (not seen within deliveryRetention). An id longer
// than 200 bytes is kept as its sha256.
func (s *Server) firstDelivery(ctx context.Context, plan, id string) (bool, error) {
	now := time.Now()
	return s.state.RecordDelivery(ctx, store.Delivery{Plan: plan, ID: deliveryKey(id), Time: now}, now.Add(-deliveryRetention))
}

// forgetDelivery forgets a delivery that started nothing (refused for
// its content, or the environment locked), so that a redelivery (GitHub
// sends the same id again) may try again.
func (s *Server) forgetDelivery(plan, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.state.ForgetDelivery(ctx, plan, deliveryKey(id)); err != nil {
		s.log.Error("a webhook delivery that started nothing could not be forgotten: its redelivery will be refused", "plan", plan, "err", err)
	}
}

// deliveryKey is how a delivery id is kept: as given, or its sha256 when
// longer than 200 bytes.
func deliveryKey(id string) string {
	if len(id) > 200 {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// refused records a refusal that starts nothing in the audit (and the
// log): kind, the plan, the remote address, why; at most
// refusalsPerMinute a minute, the next one recorded says how many were
// not.
func (s *Server) refused(r *http.Request, kind, plan, reason string) {
	ok, dropped := s.refusals.allow(time.Now())
	if !ok {
		return
	}
	if dropped > 0 {
		reason += fmt.Sprintf(" (and %d refusals before this one, not recorded: more than %d a minute)", dropped, refusalsPerMinute)
	}
	s.log.Warn("refused: "+reason, "kind", kind, "plan", plan, "remote", r.RemoteAddr)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := s.state.AddAudit(ctx, store.AuditEntry{Kind: kind, Plan: plan, Remote: r.RemoteAddr, Reason: reason}); err != nil {
		s.log.Error("the refusal could not be recorded in the audit", "kind", kind, "plan", plan, "err", err)
	}
}

// getAudit lists the audit (newest first) of the plans the caller may
// see: GET /api/v1/audit?plan=&limit=.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f store.AuditFilter
	if name := q.Get("plan"); name != "" {
		if _, err := s.mayPlan(r, name); err != nil {
			return err
		}
		f.Plans = []string{name}
	} else if tok := callerOf(r).token; tok != nil && len(tok.Plans) > 0 {
		f.Plans = tok.Plans
	}
	f.Limit = 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return invalid(fmt.Errorf("limit: %s: want 1 to 1000", values.Quote(l)))
		}
		f.Limit = n
	}
	list := []store.AuditEntry{}
	if s.state != nil { // read-only (no tokens): no hooks, nothing refused
		var err error
		if list, err = s.state.ListAudit(r.Context(), f); err != nil {
			return err
		}
	}
	out := make([]map[string]any, 0, len(list))
	for _, a := range list {
		out = append(out, map[string]any{"id": a.ID, "time": a.Time, "kind": a.Kind, "plan": a.Plan,
			"remote": a.Remote, "identity": a.Identity, "reason": a.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": out})
	return nil
}
