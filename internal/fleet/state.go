package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stateDir holds one state file per live fleet and the lock taken while a
// fleet picks its prefix and subnet and creates its network. It is on
// /run, which is cleared at boot like the namespaces themselves.
const stateDir = "/run/golive-fleet"

// state is what a fleet records before it creates anything, so that the
// fleet of a killed process can be found and torn down.
type state struct {
	Prefix  string    `json:"prefix"`
	N       int       `json:"n"`
	Subnet  string    `json:"subnet"`
	Dir     string    `json:"dir"`
	Created time.Time `json:"created"`
	Owner   owner     `json:"owner"`
}

// owner identifies a process across pid reuse: its pid and start time.
type owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // field 22 of /proc/PID/stat
}

func self() owner {
	pid := os.Getpid()
	return owner{PID: pid, Start: startTime(pid)}
}

// alive reports whether the owning process still runs.
func (o owner) alive() bool {
	return o.PID > 0 && alive(o.PID) && startTime(o.PID) == o.Start
}

func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

func statePath(prefix string) string { return filepath.Join(stateDir, prefix+".json") }

func writeState(st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	tmp := statePath(st.Prefix) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	if err := os.Rename(tmp, statePath(st.Prefix)); err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	return nil
}

func readStates() ([]state, error) {
	paths, err := filepath.Glob(filepath.Join(stateDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var sts []state
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var st state
		if err := json.Unmarshal(b, &st); err != nil || !validPrefix(st.Prefix) || statePath(st.Prefix) != p {
			continue
		}
		if !strings.HasPrefix(filepath.Base(st.Dir), "golive-fleet-"+st.Prefix+"-") {
			// Never remove a directory a fleet did not make.
			st.Dir = ""
		}
		sts = append(sts, st)
	}
	return sts, nil
}

// lock takes the machine-wide fleet lock (flock on a file in stateDir).
func lock() (unlock func(), err error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	fh, err := os.OpenFile(filepath.Join(stateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fleet: lock: %w", err)
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX); err != nil {
		fh.Close()
		return nil, fmt.Errorf("fleet: lock: %w", err)
	}
	return func() { fh.Close() }, nil
}

// CleanupStale tears down fleets left behind by processes that died
// without Close (a killed test run): those whose owning process is gone
// and that were created more than olderThan ago. It also removes
// namespaces (older than olderThan) and interfaces named like a fleet's
// that no state file claims. It returns the prefixes it removed.
func CleanupStale(ctx context.Context, olderThan time.Duration) ([]string, error) {
	if _, err := os.Stat(stateDir); errors.Is(err, os.ErrNotExist) && !anyOurs() {
		return nil, nil
	}
	unlock, err := lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	sts, err := readStates()
	if err != nil {
		return nil, fmt.Errorf("fleet: cleanup: %w", err)
	}
	var removed []string
	var errs []error
	claimed := map[string]bool{}
	for _, st := range sts {
		claimed[st.Prefix] = true
		if st.Owner.alive() || time.Since(st.Created) < olderThan {
			continue
		}
		if err := teardown(ctx, st.Prefix, st.N, st.Dir, nil); err != nil {
			errs = append(errs, fmt.Errorf("fleet %s: cleanup: %w", st.Prefix, err))
			continue
		}
		removed = append(removed, st.Prefix)
	}

	// Unclaimed names. A fleet writes its state file before it creates
	// anything and removes it after everything is gone, so these are
	// orphans; the age check on namespaces is extra caution.
	orphans := map[string]bool{}
	for _, name := range listNetns() {
		m := ourName.FindStringSubmatch(name)
		if m == nil || claimed[m[1]] {
			continue
		}
		if fi, err := os.Stat("/run/netns/" + name); err == nil && time.Since(fi.ModTime()) >= olderThan {
			orphans[m[1]] = true
		}
	}
	for _, name := range listLinks() {
		if m := ourName.FindStringSubmatch(name); m != nil && !claimed[m[1]] {
			orphans[m[1]] = true
		}
	}
	for prefix := range orphans {
		if err := teardown(ctx, prefix, 0, "", nil); err != nil {
			errs = append(errs, fmt.Errorf("fleet %s: cleanup: %w", prefix, err))
			continue
		}
		removed = append(removed, prefix)
	}
	return removed, errors.Join(errs...)
}

func anyOurs() bool {
	for _, name := range append(listNetns(), listLinks()...) {
		if ourName.MatchString(name) {
			return true
		}
	}
	return false
}
