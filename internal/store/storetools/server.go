package storetools

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/golive-dev/golive/internal/store"
)

// What `golive serve` keeps beside the runs (store.ServerStore) is copied
// too: the webhook deliveries seen (a delivery replayed against the new
// store must still be refused), the browser sessions (nobody is signed
// out by a move) and the audit of refused deliveries.

// serverSet is the server tables as compared: each record by a key.
// Deliveries by plan and id, sessions by id hash, audit entries by id —
// or, in a merge (where they get new ids), by what they say, with a
// count for entries that say the same.
type serverSet struct {
	deliveries map[string]store.Delivery
	sessions   map[string]store.Session
	audit      map[string]store.AuditEntry
}

func newServerSet() serverSet {
	return serverSet{deliveries: map[string]store.Delivery{}, sessions: map[string]store.Session{}, audit: map[string]store.AuditEntry{}}
}

// deliveryKey keys a delivery by its plan and id as the target keeps
// them (PostgreSQL makes invalid UTF-8 U+FFFD).
func deliveryKey(keep func(string) string, d store.Delivery) string {
	return keep(d.Plan) + "\x00" + keep(d.ID)
}

// auditContent is what an audit entry says, as keep keeps its text.
func auditContent(keep func(string) string, a store.AuditEntry) string {
	return strings.Join([]string{strconv.FormatInt(a.Time.UnixMicro(), 10), keep(a.Kind), keep(a.Plan),
		keep(a.Remote), keep(a.Identity), keep(a.Reason)}, "\x00")
}

// auditKeyed is an audit entry with its key.
type auditKeyed struct {
	key string
	a   store.AuditEntry
}

// auditKeys keys entries (in id order, as exported) by id, or (byContent)
// by what they say and the how-manyth entry saying it this is; in the
// entries' order.
func auditKeys(keep func(string) string, entries []store.AuditEntry, byContent bool) []auditKeyed {
	out := make([]auditKeyed, 0, len(entries))
	seen := map[string]int{}
	for _, a := range entries {
		if !byContent {
			out = append(out, auditKeyed{fmt.Sprintf("%020d", a.ID), a})
			continue
		}
		c := auditContent(keep, a)
		out = append(out, auditKeyed{c + "\x00" + strconv.Itoa(seen[c]), a})
		seen[c]++
	}
	return out
}

// auditName names an audit entry in a message.
func auditName(a store.AuditEntry) string {
	return fmt.Sprintf("%d (%s of %q at %s)", a.ID, a.Kind, a.Plan, a.Time.UTC().Format("2006-01-02 15:04:05.000000"))
}

// putServer copies the source's server tables into the target's
// transaction; in a merge, a delivery in both keeps the later time, a
// session in both must be the same, and an audit entry the target has
// (the same text at the same time) is not added again.
func (c *copier) putServer(im store.Importer, t store.Tables) error {
	c.rep.Changed += changedServer(c.dst.KeepText, t)
	for _, d := range t.Deliveries {
		k := deliveryKey(c.dst.KeepText, d)
		if have, ok := c.tgt.server.deliveries[k]; ok && !have.Time.Before(d.Time) {
			c.wantServer.deliveries[k] = have
			continue
		}
		c.wantServer.deliveries[k] = d
		if err := im.PutDelivery(d); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		c.rep.Copied.Deliveries++
	}
	for _, s := range t.Sessions {
		k := c.dst.KeepText(s.IDHash)
		c.wantServer.sessions[k] = s
		if have, ok := c.tgt.server.sessions[k]; ok {
			if sameSession(c.dst.KeepText, have, s) {
				continue
			}
			return fmt.Errorf("%w: a browser session is in both stores, of %s in the source and of %s in the target; nothing was copied",
				ErrRefused, s.Name, have.Name)
		}
		if err := im.PutSession(s); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		c.rep.Copied.Sessions++
	}
	// In id order, so that merged entries get new ids in their order.
	for _, ka := range auditKeys(c.dst.KeepText, t.Audit, c.merge) {
		k, a := ka.key, ka.a
		c.wantServer.audit[k] = a
		if _, ok := c.tgt.server.audit[k]; ok && c.merge {
			continue // the target has it (a merge again)
		}
		if err := im.PutAudit(a, c.merge); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		c.rep.Copied.Audit++
	}
	return nil
}

// readServer keys the server tables of a store (the target before the
// copy, or after it) as the copy compares them.
func readServer(keep func(string) string, t store.Tables, merge bool) serverSet {
	s := newServerSet()
	for _, d := range t.Deliveries {
		s.deliveries[deliveryKey(keep, d)] = d
	}
	for _, x := range t.Sessions {
		s.sessions[keep(x.IDHash)] = x
	}
	for _, ka := range auditKeys(keep, t.Audit, merge) {
		s.audit[ka.key] = ka.a
	}
	return s
}

// only keeps the records of s that want has (a merge verifies what it
// copied, not what the target had besides).
func (s serverSet) only(want serverSet) serverSet {
	out := newServerSet()
	for k, v := range s.deliveries {
		if _, ok := want.deliveries[k]; ok {
			out.deliveries[k] = v
		}
	}
	for k, v := range s.sessions {
		if _, ok := want.sessions[k]; ok {
			out.sessions[k] = v
		}
	}
	for k, v := range s.audit {
		if _, ok := want.audit[k]; ok {
			out.audit[k] = v
		}
	}
	return out
}

// changedServer counts the text values of the server tables the target
// keeps otherwise.
func changedServer(keep func(string) string, t store.Tables) int {
	n := 0
	count := func(vs ...string) { n += changedIn(keep, vs...) }
	for _, d := range t.Deliveries {
		count(d.Plan, d.ID)
	}
	for _, x := range t.Sessions {
		count(x.IDHash, x.Name, x.TokenSHA256)
	}
	for _, a := range t.Audit {
		count(a.Kind, a.Plan, a.Remote, a.Identity, a.Reason)
	}
	return n
}

func (s serverSet) count() (deliveries, sessions, audit int) {
	return len(s.deliveries), len(s.sessions), len(s.audit)
}

// compareServer lists how got differs from want.
func compareServer(keep func(string) string, want, got serverSet, merge bool) []string {
	named := func(k string) string { return strings.ReplaceAll(k, "\x00", "/") }
	p := compareMaps("webhook delivery", want.deliveries, got.deliveries, named, func(a, b store.Delivery) bool {
		return sameDelivery(keep, a, b)
	})
	p = append(p, compareMaps("browser session of", want.sessions, got.sessions, func(k string) string {
		if s, ok := want.sessions[k]; ok {
			return s.Name
		}
		return got.sessions[k].Name
	}, func(a, b store.Session) bool { return sameSession(keep, a, b) })...)
	return append(p, compareMaps("audit entry", want.audit, got.audit, func(k string) string {
		if a, ok := want.audit[k]; ok {
			return auditName(a)
		}
		return auditName(got.audit[k])
	}, func(a, b store.AuditEntry) bool { return sameAudit(keep, a, b, !merge) })...)
}

// sumServer writes the server tables to w, in key order.
func sumServer(w *hasher, s serverSet, withIDs bool) {
	for _, k := range sortedKeys(s.deliveries) {
		d := s.deliveries[k]
		w.str(d.Plan, d.ID)
		w.time(d.Time)
	}
	for _, k := range sortedKeys(s.sessions) {
		sumSession(w, s.sessions[k])
	}
	for _, k := range sortedKeys(s.audit) {
		sumAudit(w, s.audit[k], withIDs)
	}
}

func sumSession(w *hasher, s store.Session) {
	w.str(s.IDHash, s.Name, s.TokenSHA256)
	w.time(s.Created, s.Expires)
}

func sumAudit(w *hasher, a store.AuditEntry, withID bool) {
	if withID {
		w.int(a.ID)
	}
	w.str(a.Kind, a.Plan, a.Remote, a.Identity, a.Reason)
	w.time(a.Time)
}

func sameDelivery(keep func(string) string, a, b store.Delivery) bool {
	return keep(a.Plan) == keep(b.Plan) && keep(a.ID) == keep(b.ID) && a.Time.UnixMicro() == b.Time.UnixMicro()
}

func sameSession(keep func(string) string, a, b store.Session) bool {
	wa, wb := newHasher(keep), newHasher(keep)
	sumSession(wa, a)
	sumSession(wb, b)
	return wa.sum() == wb.sum()
}

func sameAudit(keep func(string) string, a, b store.AuditEntry, withID bool) bool {
	wa, wb := newHasher(keep), newHasher(keep)
	sumAudit(wa, a, withID)
	sumAudit(wb, b, withID)
	return wa.sum() == wb.sum()
}
