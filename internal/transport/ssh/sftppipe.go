package ssh

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// sftpWriteSize is the data of one SFTP write request: with its header
// (at most 25 bytes and a handle, which SFTP bounds at 256 bytes) it fits
// one SSH packet of a channel whose peer takes 32 KiB packets (OpenSSH's
// for a session), so that each write request travels as one packet.
const sftpWriteSize = 32<<10 - 512

// newSFTPClient starts an SFTP client on client whose requests each go to
// the channel in one Write (sftpPipe), with writes of sftpWriteSize.
func newSFTPClient(client *gossh.Client, opts ...sftp.ClientOption) (*sftp.Client, error) {
	s, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	w, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	r, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		s.Close()
		return nil, err
	}
	opts = append([]sftp.ClientOption{sftp.MaxPacketChecked(sftpWriteSize)}, opts...)
	cl, err := sftp.NewClientPipe(r, &sftpPipe{s: s, w: w}, opts...)
	if err != nil {
		s.Close()
		return nil, err
	}
	return cl, nil
}

// sftpPipe is the standard input of an SFTP session. pkg/sftp writes a
// request's header and its data in two Writes, and each Write to an SSH
// channel is sent as a packet of its own: a write request cost the
// controller, the network and the host's sshd two packets (one of ~30
// bytes). sftpPipe hands the channel each request whole, in one Write:
// a Write that holds a whole request (the length that starts it says how
// long it is) passes through; the parts of a longer one are gathered
// first (in a pooled buffer, given back once the request is sent).
// pkg/sftp serialises its Writes (one request at a time).
type sftpPipe struct {
	s   *gossh.Session
	w   io.WriteCloser
	buf *[]byte // the parts of the request being gathered; nil between requests
}

var sftpBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func (p *sftpPipe) Write(b []byte) (int, error) {
	if p.buf == nil && len(b) >= 4 && 4+int64(binary.BigEndian.Uint32(b)) == int64(len(b)) {
		return p.w.Write(b) // one whole request
	}
	if p.buf == nil {
		p.buf = sftpBufs.Get().(*[]byte)
		*p.buf = (*p.buf)[:0]
	}
	*p.buf = append(*p.buf, b...)
	for {
		buf := *p.buf
		if len(buf) < 4 {
			break
		}
		n := 4 + int64(binary.BigEndian.Uint32(buf))
		if int64(len(buf)) < n {
			break
		}
		if _, err := p.w.Write(buf[:n]); err != nil {
			p.release()
			return 0, err
		}
		rest := copy(buf, buf[n:])
		*p.buf = buf[:rest]
	}
	if len(*p.buf) == 0 {
		p.release()
	}
	return len(b), nil
}

func (p *sftpPipe) release() {
	if p.buf != nil {
		if cap(*p.buf) <= 64<<10 {
			sftpBufs.Put(p.buf)
		}
		p.buf = nil
	}
}

// Close ends the session's input and the session.
func (p *sftpPipe) Close() error {
	p.release()
	err := p.w.Close()
	if p.s == nil {
		return err
	}
	if cerr := p.s.Close(); err == nil && cerr != nil && cerr != io.EOF {
		err = fmt.Errorf("close sftp session: %w", cerr)
	}
	return err
}
