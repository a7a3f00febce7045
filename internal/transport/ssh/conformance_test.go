package ssh_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// harness gives every test of the suite its own server, started with o.
func harness(o serverOpts) transporttest.Harness {
	return transporttest.Harness{
		Dial: func(t *testing.T, tg transporttest.Target) transport.Conn {
			f := newFixture(t)
			h := f.host(f.server(o))
			h.Dir = tg.Dir
			return dial(t, &sshtr.Transport{Grace: tg.Grace}, h)
		},
		ErrorPrefix: "ssh web-1: ",
		// The heap holds the in-process server too.
		UploadHeapLimit: 32 << 20,
	}
}

// The server starts each session in a new session, as OpenSSH does.
func TestConformance(t *testing.T) {
	transporttest.Run(t, harness(serverOpts{setsid: true}))
}

// A server that runs the command in its own process group: the wrapper
// must call setsid(1) itself before the group can be killed.
func TestInterruptsWithoutServerSetsid(t *testing.T) {
	t.Parallel()
	transporttest.RunInterrupts(t, harness(serverOpts{}))
}

// A target without sha256sum or shasum: the existing file is read back
// over SFTP to compare its hash.
func TestUploadsWithoutSha256sum(t *testing.T) {
	t.Parallel()
	transporttest.RunUploads(t, harness(serverOpts{setsid: true, path: noShaPath(t)}))
}

// A target without an SFTP server: with sha256sum, every upload is done in
// one exec session and never needs SFTP.
func TestUploadsWithoutSFTP(t *testing.T) {
	t.Parallel()
	transporttest.RunUploads(t, harness(serverOpts{setsid: true, noSFTP: true}))
}

// Pipelined sessions: every Run of the suite over one session, and the
// sessions' own tests.
func TestSessionConformance(t *testing.T) {
	t.Parallel()
	transporttest.RunSessions(t, harness(serverOpts{setsid: true}))
}

// Pipelined sessions on a server that does not start a new session: the
// child shell must call setsid(1) itself before its group can be killed.
func TestSessionInterruptsWithoutServerSetsid(t *testing.T) {
	t.Parallel()
	h := harness(serverOpts{})
	dial := h.Dial
	h.Dial = func(t *testing.T, tg transporttest.Target) transport.Conn {
		return transporttest.SessionConn(t, dial(t, tg))
	}
	transporttest.RunInterrupts(t, h)
}
