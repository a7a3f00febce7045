package ssh

import (
	"fmt"
	"strconv"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// idleLink is a link kept by a Transport with ReuseIdle after its conn
// was closed.
type idleLink struct {
	l     *link
	timer *time.Timer // ends it when nobody took it in time
}

// linkKey names what a link may be reused for: the same endpoint, user,
// jump host and credentials.
func linkKey(h transport.Host, target endpoint, jump *endpoint) string {
	k := strconv.Quote(target.user) + "@" + target.addr() + " " + strconv.Quote(h.IdentityFile) + " " + strconv.Quote(h.KnownHosts)
	if jump != nil {
		k += " via " + strconv.Quote(jump.user) + "@" + jump.addr()
	}
	return k
}

// keep puts l among the idle links under key, for ReuseIdle; false when
// it cannot be kept (reuse is off, or the connection has ended).
func (t *Transport) keep(key string, l *link) bool {
	if t.ReuseIdle <= 0 || l.lostErr() != nil {
		return false
	}
	il := &idleLink{l: l}
	t.idleMu.Lock()
	defer t.idleMu.Unlock()
	if t.MaxIdle > 0 && t.nidle >= t.MaxIdle {
		return false
	}
	if t.idle == nil {
		t.idle = map[string][]*idleLink{}
	}
	t.idle[key] = append(t.idle[key], il)
	t.nidle++
	il.timer = time.AfterFunc(t.ReuseIdle, func() {
		if t.remove(key, il) {
			il.l.lose(fmt.Errorf("%w: %w", ErrConnLost, transport.ErrClosed))
		}
	})
	return true
}

// remove takes il out of the idle links; false when it was no longer
// there.
func (t *Transport) remove(key string, il *idleLink) bool {
	t.idleMu.Lock()
	defer t.idleMu.Unlock()
	ls := t.idle[key]
	for i, x := range ls {
		if x == il {
			t.nidle--
			t.idle[key] = append(ls[:i:i], ls[i+1:]...)
			if len(t.idle[key]) == 0 {
				delete(t.idle, key)
			}
			return true
		}
	}
	return false
}

// takeIdle returns a kept link for key that is still up, or nil.
func (t *Transport) takeIdle(key string) *link {
	for {
		t.idleMu.Lock()
		ls := t.idle[key]
		if len(ls) == 0 {
			t.idleMu.Unlock()
			return nil
		}
		il := ls[len(ls)-1]
		t.nidle--
		t.idle[key] = ls[:len(ls)-1]
		if len(t.idle[key]) == 0 {
			delete(t.idle, key)
		}
		t.idleMu.Unlock()
		il.timer.Stop()
		if il.l.lostErr() == nil {
			return il.l
		}
	}
}

// CloseIdle ends the connections kept for reuse (ReuseIdle).
func (t *Transport) CloseIdle() {
	t.idleMu.Lock()
	idle := t.idle
	t.idle, t.nidle = nil, 0
	t.idleMu.Unlock()
	for _, ls := range idle {
		for _, il := range ls {
			il.timer.Stop()
			il.l.lose(fmt.Errorf("%w: %w", ErrConnLost, transport.ErrClosed))
			<-il.l.dead
		}
	}
}
