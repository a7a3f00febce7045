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

// ThisPIDSpace names the boot and pid namespace this process's pid is
// valid in: "boot:BOOT_ID pid:[INODE]", or "" when /proc does not say.
func ThisPIDSpace() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return "boot:" + string(bytes.TrimSpace(boot)) + " " + ns
}
