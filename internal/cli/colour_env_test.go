package cli

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"
)

func ioctl(f *os.File, req uintptr, arg *int32) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(unsafe.Pointer(arg))); errno != 0 {
		return errno
	}
	return nil
}

// openPTY opens a pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock, n int32
	if err := ioctl(ptmx, syscall.TIOCSPTLCK, &unlock); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	if err := ioctl(ptmx, syscall.TIOCGPTN, &n); err != nil {
		t.Skipf("ptsname: %v", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}

// TestColourOnTerminalUnlessNoColorOrDumb: output to a terminal has
// colour, unless NO_COLOR is set (to anything) or TERM is dumb; output to
// a file never has.
func TestColourOnTerminalUnlessNoColorOrDumb(t *testing.T) {
	tty := openPTY(t)
	file, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, c := range []struct {
		w    *os.File
		env  map[string]string
		want bool
	}{
		{tty, map[string]string{"TERM": "xterm"}, true},
		{tty, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{tty, map[string]string{"TERM": "dumb"}, false},
		{file, map[string]string{"TERM": "xterm"}, false},
	} {
		e := &env{getenv: func(k string) string { return c.env[k] }}
		if got := e.colour(c.w); got != c.want {
			t.Errorf("colour(%s) with %v = %v, want %v", c.w.Name(), c.env, got, c.want)
		}
	}
}
