package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// trackingTransport counts each host's open connections and discards.
type trackingTransport struct {
	transport.Transport
	mu        sync.Mutex
	open      map[string]int
	discarded map[string]int
	bad       []string // runs that found an earlier batch's host still connected
}

func (t *trackingTransport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c, err := t.Transport.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.open[h.Name]++
	t.mu.Unlock()
	return &trackedConn{Conn: c, t: t, host: h.Name}, nil
}

type trackedConn struct {
	transport.Conn
	t    *trackingTransport
	host string
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		c.t.open[c.host]--
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

func (c *trackedConn) Discard() error {
	c.t.mu.Lock()
	c.t.discarded[c.host]++
	c.t.mu.Unlock()
	return c.Close()
}

// earlier are the hosts of the batches before each host's (batches of 1,
// 2, 2: h1 | h2 h3 | h4 h5).
var earlier = map[string][]string{"h2": {"h1"}, "h3": {"h1"}, "h4": {"h1", "h2", "h3"}, "h5": {"h1", "h2", "h3"}}

func (c *trackedConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	c.t.mu.Lock()
	for _, h := range earlier[c.host] {
		if c.t.open[h] > 0 {
			c.t.bad = append(c.t.bad, fmt.Sprintf("%s ran with %s still connected", c.host, h))
		}
	}
	c.t.mu.Unlock()
	return c.Conn.Run(ctx, cmd)
}

// A host's connection ends, for good, once its last batch is over: the
// controller holds the connections of the hosts in flight, not of the
// whole fleet.
func TestConnsReleasedAfterLastBatch(t *testing.T) {
	t.Parallel()
	f := fiveHostBatches(t, "", "echo b >> log")
	var tr *trackingTransport
	out := f.start(f.engine(func(o *engine.Options) {
		tr = &trackingTransport{Transport: o.Transports["local"], open: map[string]int{}, discarded: map[string]int{}}
		o.Transports["local"] = tr
	}))
	f.wantState(out, store.StateSucceeded)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, b := range tr.bad {
		t.Error(b)
	}
	for _, h := range []string{"h1", "h2", "h3", "h4", "h5"} {
		if tr.discarded[h] != 1 {
			t.Errorf("%s: discarded %d times, want 1", h, tr.discarded[h])
		}
		if tr.open[h] != 0 {
			t.Errorf("%s: %d connections open at the end", h, tr.open[h])
		}
	}
}
