package ssh

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pkg/sftp"
)

// writeRecorder passes Writes on to w and checks each is one whole SFTP
// message that fits a 32 KiB SSH packet.
type writeRecorder struct {
	t        *testing.T
	w        io.WriteCloser
	mu       sync.Mutex
	writes   int
	largest  int
	notWhole int
}

func (r *writeRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.writes++
	r.largest = max(r.largest, len(b))
	if len(b) < 4 || 4+int(binary.BigEndian.Uint32(b)) != len(b) {
		r.notWhole++
	}
	r.mu.Unlock()
	return r.w.Write(b)
}

func (r *writeRecorder) Close() error { return r.w.Close() }

// Every SFTP request of an upload reaches the channel in one Write (so one
// SSH packet), none larger than an OpenSSH session channel's 32 KiB
// packets, and the file arrives whole.
func TestSFTPRequestsAreWholePackets(t *testing.T) {
	toServer, serverIn := io.Pipe()
	serverOut, fromServer := io.Pipe()
	srv, err := sftp.NewServer(struct {
		io.Reader
		io.WriteCloser
	}{toServer, fromServer})
	if err != nil {
		t.Fatal(err)
	}
	go func() { srv.Serve(); fromServer.Close() }()
	rec := &writeRecorder{t: t, w: serverIn}
	cl, err := sftp.NewClientPipe(serverOut, &sftpPipe{w: rec},
		sftp.MaxPacketChecked(sftpWriteSize), sftp.UseConcurrentWrites(true), sftp.MaxConcurrentRequestsPerFile(sftpInFlight))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	data := make([]byte, 1<<20+12345)
	rand.Read(data)
	dst := filepath.Join(t.TempDir(), "artifact")
	f, err := cl.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded file differs (%d bytes, want %d): %v", len(got), len(data), err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.notWhole > 0 {
		t.Errorf("%d of %d writes were not one whole SFTP request", rec.notWhole, rec.writes)
	}
	if rec.largest > 32<<10 {
		t.Errorf("largest write %d bytes: more than one 32 KiB SSH packet", rec.largest)
	}
	if min := len(data) / sftpWriteSize; rec.writes < min {
		t.Errorf("%d writes for %d bytes, want at least %d", rec.writes, len(data), min)
	}
}

// Parts of requests are gathered; a Write holding more than one request
// sends each on its own.
func TestSFTPPipeGathersAndSplits(t *testing.T) {
	var out [][]byte
	w := writerFunc(func(b []byte) (int, error) { out = append(out, append([]byte(nil), b...)); return len(b), nil })
	p := &sftpPipe{w: nopCloser{w}}
	msg := func(body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		return append(b, body...)
	}
	a, b, c := msg("first request"), msg("second"), msg("third one")
	for _, part := range [][]byte{a[:3], a[3:9], a[9:]} { // header split, body in parts
		if n, err := p.Write(part); err != nil || n != len(part) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	both := append(append([]byte(nil), b...), c[:5]...)
	p.Write(both)
	p.Write(c[5:])
	want := [][]byte{a, b, c}
	if len(out) != len(want) {
		t.Fatalf("%d writes, want %d: %q", len(out), len(want), out)
	}
	for i := range want {
		if !bytes.Equal(out[i], want[i]) {
			t.Errorf("write %d = %q, want %q", i, out[i], want[i])
		}
	}
	if p.buf != nil {
		t.Error("a buffer is still held between requests")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
