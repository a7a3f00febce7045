package ssh_test

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// SFTP packet types (draft-ietf-secsh-filexfer-02).
const (
	fxpWrite  = 6
	fxpStatus = 101
)

// inflight counts the SFTP write requests a server has read and not yet
// answered, and the most there ever were.
type inflight struct {
	mu       sync.Mutex
	open     int
	max      int
	in, out  packetScanner
	slowDown time.Duration
}

// packetScanner finds the type of each SFTP packet in a byte stream.
type packetScanner struct {
	hdr  []byte
	left uint32 // bytes of the current packet still to skip
}

// scan calls fn with the type of each packet that starts in b.
func (s *packetScanner) scan(b []byte, fn func(typ byte)) {
	for len(b) > 0 {
		if s.left > 0 {
			n := min(uint32(len(b)), s.left)
			s.left -= n
			b = b[n:]
			continue
		}
		need := 5 - len(s.hdr)
		n := min(need, len(b))
		s.hdr = append(s.hdr, b[:n]...)
		b = b[n:]
		if len(s.hdr) == 5 {
			fn(s.hdr[4])
			s.left = binary.BigEndian.Uint32(s.hdr[:4]) - 1
			s.hdr = s.hdr[:0]
		}
	}
}

type countingStream struct {
	rw io.ReadWriteCloser
	c  *inflight
}

func (s countingStream) Close() error { return s.rw.Close() }

func (s countingStream) Read(p []byte) (int, error) {
	n, err := s.rw.Read(p)
	s.c.mu.Lock()
	s.c.in.scan(p[:n], func(typ byte) {
		if typ == fxpWrite {
			s.c.open++
			s.c.max = max(s.c.max, s.c.open)
		}
	})
	s.c.mu.Unlock()
	return n, err
}

func (s countingStream) Write(p []byte) (int, error) {
	time.Sleep(s.c.slowDown) // a slow disk: the client fills what it may have in flight
	s.c.mu.Lock()
	s.c.out.scan(p, func(typ byte) {
		if typ == fxpStatus && s.c.open > 0 {
			s.c.open--
		}
	})
	s.c.mu.Unlock()
	return s.rw.Write(p)
}

// An SFTP upload keeps at most 16 writes in flight (and one more that
// pkg/sftp sends before a worker takes it), so that an OpenSSH server
// never holds much more than 512 KiB of it for the channel (see
// sftpInFlight).
func TestUploadBoundsWritesInFlight(t *testing.T) {
	t.Parallel()
	c := &inflight{slowDown: time.Millisecond}
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true, sftp: func(s gliderssh.Session) {
		srv, err := sftp.NewServer(countingStream{rw: s, c: c})
		if err != nil {
			return
		}
		srv.Serve()
		srv.Close()
	}})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.LargeSource(t, 8<<20)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max == 0 {
		t.Fatal("the upload did not go over SFTP")
	}
	if c.max > 17 {
		t.Errorf("%d writes were in flight at once, want at most 17", c.max)
	}
	t.Logf("at most %d writes in flight", c.max)
}
