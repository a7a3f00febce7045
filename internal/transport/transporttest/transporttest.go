package transporttest

import (
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// Target is the host a test of the suite wants a connection to.
type Target struct {
	// Dir is the host's working directory (transport.Host.Dir): an
	// absolute path of an existing, empty directory of the controller.
	Dir string
	// Grace is the time the transport must give an interrupted script's
	// process group between SIGTERM and SIGKILL (the Grace field of the
	// local and ssh transports). The suite sets it short where it waits
	// for SIGKILL, and long where it checks that SIGTERM comes first.
	Grace time.Duration
}

// Harness is one transport implementation as the suite sees it.
type Harness struct {
	// Dial returns a new connection to a host whose Dir is tg.Dir, and
	// arranges (with t.Cleanup) for it to be closed. It fails t when it
	// cannot connect.
	Dial func(t *testing.T, tg Target) transport.Conn
	// ErrorPrefix is what every error of the connections starts with,
	// before the operation ("run: ", "upload "): the transport's and the
	// host's name, as in "local test: " or "ssh web-1: ".
	ErrorPrefix string
	// UploadHeapLimit bounds how much the in-use heap of the test process
	// may grow (the peak, sampled) while a 64 MiB file is uploaded; 0 means
	// 32 MiB. The heap holds an in-process server too, if there is one.
	UploadHeapLimit int64
	// UploadAllocLimit, when not 0, bounds the bytes the test process
	// allocates during that upload.
	UploadAllocLimit int64
}

// test is one test of the suite.
type test struct {
	name string
	fn   func(t *testing.T, h Harness)
	// serial: the test measures the whole process (its heap), so it
	// must not run in parallel with the others.
	serial bool
}

var commandTests = []test{
	{name: "ExitCodes", fn: testExitCodes},
	{name: "CannotStart", fn: testCannotStart},
	{name: "EnvQuoting", fn: testEnvQuoting},
	{name: "WorkingDirectory", fn: testWorkingDirectory},
	{name: "Output", fn: testOutput},
	{name: "OutputWriterFails", fn: testOutputWriterFails},
	{name: "StreamsOutput", fn: testStreamsOutput},
	{name: "ArgumentsHoldNoScript", fn: testArgumentsHoldNoScript},
	{name: "Closed", fn: testClosed},
}

var interruptTests = []test{
	{name: "InterruptKillsGroup", fn: testInterruptKillsGroup},
	{name: "IgnoredTermGetsKill", fn: testIgnoredTermGetsKill},
	{name: "TermBeforeKill", fn: testTermBeforeKill},
	{name: "CancelVersusTimeout", fn: testCancelVersusTimeout},
	{name: "DoneContextStartsNothing", fn: testDoneContextStartsNothing},
}

var uploadTests = []test{
	{name: "Upload", fn: testUpload},
	{name: "UploadRejected", fn: testUploadRejected},
	{name: "UploadHostileNames", fn: testUploadHostileNames},
	{name: "UploadLargeStreams", fn: testUploadLargeStreams, serial: true},
}

// Run runs the whole conformance suite against h. Each test dials its own
// connection(s) to a new host directory; all but the one that measures the
// heap run in parallel (the caller's test should not be parallel, so that
// nothing else runs while the heap is measured).
func Run(t *testing.T, h Harness) {
	run(t, h, true, commandTests, interruptTests, uploadTests)
}

// RunCommands, RunInterrupts and RunUploads run one part of the suite
// again, for another mode of a transport that Run has tested already (an
// SSH server that does not start a new session, a target without
// sha256sum). They leave out the large upload that measures the heap, so
// the caller's test may be parallel.

// RunCommands runs the tests of Conn.Run that involve no interruption:
// exit codes, environment, working directory, output, and a closed
// connection.
func RunCommands(t *testing.T, h Harness) { run(t, h, false, commandTests) }

// RunInterrupts runs the tests of a Conn.Run interrupted by its context.
func RunInterrupts(t *testing.T, h Harness) { run(t, h, false, interruptTests) }

// RunUploads runs the tests of Conn.Upload, but for the large upload.
func RunUploads(t *testing.T, h Harness) { run(t, h, false, uploadTests) }

func run(t *testing.T, h Harness, serial bool, groups ...[]test) {
	if h.Dial == nil {
		t.Fatal("transporttest: Harness.Dial is nil")
	}
	for _, g := range groups {
		for _, tt := range g {
			if tt.serial && !serial {
				continue
			}
			t.Run(tt.name, func(t *testing.T) {
				if !tt.serial {
					t.Parallel()
				}
				tt.fn(t, h)
			})
		}
	}
}

// Default grace periods of the connections the tests dial.
const (
	shortGrace = 300 * time.Millisecond
	longGrace  = 20 * time.Second
)

// dial connects to a new host directory with the given grace period and
// returns the connection and the directory.
func dial(t *testing.T, h Harness, grace time.Duration) (transport.Conn, string) {
	t.Helper()
	dir := t.TempDir()
	return h.Dial(t, Target{Dir: dir, Grace: grace}), dir
}
