package store

import (
	"fmt"
	"os"
	"time"
)

// HeartbeatTimeout is how long a lock held from another host may go without a
// heartbeat before HolderGone considers its holder gone. Holders should
// heartbeat several times within it (every 5 s).
const HeartbeatTimeout = 15 * time.Second

// Holder is the controller process that holds a lock.
type Holder struct {
	PID      int
	Hostname string
	// PIDSpace names where PID means this process: the machine's boot
	// and the pid namespace ("boot:ID pid:[INODE]" on Linux; see
	// ThisHolder). Two controllers with the same hostname but different
	// pid spaces (containers on the host network, a machine rebooted
	// since) cannot see each other's processes. Empty: unknown.
	PIDSpace string
}

// ThisHolder is this process as a lock holder: its pid, hostname and pid
// space.
func ThisHolder() Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Hostname: host, PIDSpace: ThisPIDSpace()}
}

func (h Holder) String() string { return fmt.Sprintf("pid %d on %s", h.PID, h.Hostname) }

// Lock is the lock of one environment of one plan, held by one run.
type Lock struct {
	Plan        string
	Env         string
	RunID       string // the run that owns the lock
	Holder      Holder // the process working on that run
	Requester   string // who started the run
	AcquiredAt  time.Time
	HeartbeatAt time.Time
}

// Validate checks the fields a caller must set before AcquireLock.
func (l Lock) Validate() error {
	switch {
	case l.Plan == "":
		return fmt.Errorf("lock: plan name is empty: %w", ErrInvalid)
	case l.RunID == "":
		return fmt.Errorf("lock: run id is empty: %w", ErrInvalid)
	case l.Holder.Hostname == "":
		return fmt.Errorf("lock: holder hostname is empty: %w", ErrInvalid)
	}
	return nil
}

// SameHolder reports whether l and o are held by the same run and process.
func (l Lock) SameHolder(o Lock) bool { return l.RunID == o.RunID && l.Holder == o.Holder }

// LockedError reports that an environment lock is held by someone else. It
// matches ErrLocked with errors.Is.
type LockedError struct {
	Lock Lock // the lock as it is held now
}

func (e *LockedError) Error() string {
	env := e.Lock.Env
	if env == "" {
		env = "(default)"
	}
	return fmt.Sprintf("lock %s/%s: held by run %s (%s, requested by %s, last heartbeat %s)",
		e.Lock.Plan, env, e.Lock.RunID, e.Lock.Holder, e.Lock.Requester,
		e.Lock.HeartbeatAt.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// HolderGone reports whether the holder of l is gone, so that the lock may be
// stolen with StealLock. here is the process asking (ThisHolder).
//
//   - Held from the same host and the same pid space (same boot, same pid
//     namespace): its process no longer exists according to pidAlive
//     (PIDAlive when nil; a zombie counts as gone). Only there does a pid
//     mean the same process to both.
//   - Otherwise (another host; the same hostname in another pid namespace
//     or after a reboot; a holder whose pid space is unknown): it has not
//     heartbeated for HeartbeatTimeout. A pid that is not visible from here
//     proves nothing.
func HolderGone(l Lock, now time.Time, here Holder, pidAlive func(pid int) bool) bool {
	if l.Holder.Hostname == here.Hostname && l.Holder.PIDSpace != "" && l.Holder.PIDSpace == here.PIDSpace {
		if pidAlive == nil {
			pidAlive = PIDAlive
		}
		return !pidAlive(l.Holder.PID)
	}
	return now.Sub(l.HeartbeatAt) > HeartbeatTimeout
}
