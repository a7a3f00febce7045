package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Run leases and fencing.
//
// The controller executing a run holds the run's lease: (holder, epoch,
// expiry). It renews the lease on its heartbeat; another controller may
// take the lease only once it has expired, and taking it gives the run a
// new, greater epoch. The executor carries its lease in the context of
// every write it makes for the run (WithLease): an AppendEvent or
// UpdateRunState whose context holds a lease of the run with an epoch
// older than the run's current one is refused, in the same transaction,
// with a *FencedError. So an executor that was paused, partitioned or slow
// past its lease can never write again once another took over; it stops
// when refused. Writes without a lease in their context (an operator's
// approval or abort request) are not fenced.

// ErrFenced: a write was refused because the writer's lease epoch is no
// longer the run's current one. The error is a *FencedError.
var ErrFenced = errors.New("fenced: the run was taken over")

// ErrLeaseHeld: the run's lease is held, unexpired, by another holder. The
// error is a *LeaseHeldError.
var ErrLeaseHeld = errors.New("lease held")

// Lease is the right to execute one run.
type Lease struct {
	RunID   string
	Holder  string    // who executes the run, e.g. "pid 42 on ctl-1"
	Epoch   int64     // 1 for the first lease of a run, then one more on each take-over; 0: never leased
	Expires time.Time // the holder must renew before then
}

// Expired reports whether l has expired at now (a run never leased has).
func (l Lease) Expired(now time.Time) bool { return l.Epoch == 0 || !now.Before(l.Expires) }

// LeaseStore keeps run leases.
type LeaseStore interface {
	// AcquireLease makes holder the executor of run runID until now+ttl.
	// When the run's lease is free or expired, or held by the same holder,
	// the new lease has the next epoch (so every acquisition fences what
	// was written under the previous one). It fails with a
	// *LeaseHeldError when another holder's lease has not expired, and
	// with ErrNotFound when the run does not exist.
	AcquireLease(ctx context.Context, runID, holder string, ttl time.Duration) (Lease, error)
	// RenewLease extends l (matched on run, holder and epoch) to now+ttl.
	// It fails with a *FencedError when the run's epoch is no longer
	// l.Epoch (taken over: stop working). An expired lease nobody took is
	// renewed.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// StealLease takes the lease expected (as read with GetLease or from
	// a LeaseHeldError; matched on its epoch) for holder until now+ttl,
	// with the next epoch, whether or not it has expired: the caller
	// decided its holder is gone (its process no longer exists). It fails
	// with a *LeaseHeldError holding the current lease when the run's
	// epoch is no longer expected.Epoch, so two controllers cannot both
	// steal it.
	StealLease(ctx context.Context, expected Lease, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease ends l now, if it is still the current lease (no error
	// when it is not).
	ReleaseLease(ctx context.Context, l Lease) error
	// GetLease returns the run's lease (Epoch 0 when it was never
	// leased), or ErrNotFound when the run does not exist.
	GetLease(ctx context.Context, runID string) (Lease, error)
}

// LeaseHeldError reports that another holder's lease has not expired.
type LeaseHeldError struct{ Lease Lease }

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("run %s: lease held by %s (epoch %d) until %s",
		e.Lease.RunID, e.Lease.Holder, e.Lease.Epoch, e.Lease.Expires.Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// FencedError reports a write refused because the run was taken over.
type FencedError struct {
	RunID   string
	Epoch   int64  // the writer's epoch
	Current int64  // the run's current epoch
	Holder  string // the current holder
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("run %s: write refused: lease epoch %d is stale, the run is now executed by %s (epoch %d)",
		e.RunID, e.Epoch, e.Holder, e.Current)
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

type leaseKey struct{}

// WithLease returns ctx carrying l: the store fences AppendEvent and
// UpdateRunState of l.RunID made with it.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// Leased reports whether ctx carries a lease (WithLease): the write is
// an executor's, which a store may keep retrying while it cannot reach
// its database rather than give up (the executor starts nothing new
// meanwhile, and learns once the store answers whether it still holds the
// run).
func Leased(ctx context.Context) bool {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return ok && l.Epoch > 0
}

// FenceEpoch returns the epoch that writes to run runID made with ctx
// carry, or 0 when ctx holds no lease of that run (the write is not
// fenced).
func FenceEpoch(ctx context.Context, runID string) int64 {
	if l, ok := ctx.Value(leaseKey{}).(Lease); ok && l.RunID == runID {
		return l.Epoch
	}
	return 0
}

// CheckLeaseArgs validates the arguments of AcquireLease.
func CheckLeaseArgs(runID, holder string, ttl time.Duration) error {
	switch {
	case runID == "":
		return fmt.Errorf("lease: run id is empty: %w", ErrInvalid)
	case holder == "":
		return fmt.Errorf("lease: holder is empty: %w", ErrInvalid)
	case ttl <= 0:
		return fmt.Errorf("lease: ttl %s is not positive: %w", ttl, ErrInvalid)
	}
	return nil
}
