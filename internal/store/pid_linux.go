package store

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// PIDAlive reports whether a process with this pid exists on this machine and
// is not a zombie. It reads /proc/PID/status.
func PIDAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("State:")); ok {
			v = bytes.TrimSpace(v)
			// Z (zombie) and X (dead): the process has exited.
			return !(bytes.HasPrefix(v, []byte("Z")) || bytes.HasPrefix(v, []byte("X")))
		}
	}
	return true
}
