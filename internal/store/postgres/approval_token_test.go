package postgres_test

import (
	"bytes"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
)

// cutProxy forwards TCP connections to PostgreSQL. Armed, it lets the
// next COMMIT through, waits for the server's answer that it committed,
// drops that answer and cuts the connection: the client's commit
// succeeded but it never learns so. (A real network fault at the worst
// moment, made to order.)
type cutProxy struct {
	ln      net.Listener
	backend string
	armed   atomic.Bool
	cuts    atomic.Int32
	wg      sync.WaitGroup
}

func newCutProxy(t *testing.T, backend string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, backend: backend}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

// commitQuery is pgx's COMMIT: a simple Query message, "commit".
var commitQuery = []byte("Q\x00\x00\x00\x0bcommit\x00")

func (p *cutProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		client.Close()
		return
	}
	var cutting atomic.Bool
	closeBoth := func() { client.Close(); server.Close() }
	defer closeBoth()
	go func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], commitQuery) && p.armed.CompareAndSwap(true, false) {
					cutting.Store(true)
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if cutting.Load() && bytes.Contains(buf[:n], []byte("COMMIT\x00")) {
				p.cuts.Add(1)
				return // the answer is lost with the connection
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// An approval whose commit succeeded but whose answer was lost with the
// connection is retried and recorded once, with the id its first attempt
// got.
func TestAddApprovalLostCommitRecordedOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s := open(t, u.String())
	r, err := s.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	proxy.armed.Store(true)
	a, err := s.AddApproval(tctx(t), store.Approval{RunID: r.ID, Approver: "alice", Decision: store.DecisionApprove, Comment: "once"})
	if err != nil {
		t.Fatalf("AddApproval across a lost commit: %v", err)
	}
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d commits, want 1", proxy.cuts.Load())
	}
	list, err := s.ListApprovals(tctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != a.ID || list[0].Comment != "once" {
		t.Errorf("approvals after a lost commit: %+v; want the one approval, id %d", list, a.ID)
	}
	// Later approvals are recorded as usual.
	if _, err := s.AddApproval(tctx(t), store.Approval{RunID: r.ID, Approver: "bob", Decision: store.DecisionReject}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListApprovals(tctx(t), r.ID); len(list) != 2 {
		t.Errorf("approvals: %d, want 2", len(list))
	}
}
