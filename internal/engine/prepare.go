package engine

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/golive-dev/golive/internal/rollout"
)

// Preparing ahead (plan steps with prepare: true, which come first in a
// stage): once every host of a batch has passed its prepare steps, the
// prepare steps of the next batch's hosts run while the batch switches
// and is health-checked. Each is journaled like any step, so the history
// knows it done (its host's batch skips it later) and the backout knows
// the host touched. A prepare step that fails ahead of time is left to
// its host's batch, which runs it again: only that attempt counts against
// the failure budget.

// preparing is the preparation of one batch, running in the background.
type preparing struct {
	done chan struct{}
	err  error // a journal write failed
}

// wait waits for the preparation to end and returns its journal error.
func (p *preparing) wait() error {
	if p == nil {
		return nil
	}
	<-p.done
	return p.err
}

// prepareSteps returns the leading prepare steps of h.
func prepareSteps(h *rollout.Host) []*rollout.Step {
	n := 0
	for n < len(h.Steps) && h.Steps[n].Prepare {
		n++
	}
	return h.Steps[:n]
}

// hasPrepare reports whether any host of b has prepare steps.
func hasPrepare(b *rollout.Batch) bool {
	for _, h := range b.Hosts {
		if len(prepareSteps(h)) > 0 {
			return true
		}
	}
	return false
}

// prepareAhead starts running the prepare steps of b's hosts (at most
// Parallel hosts at once) until they are done or ctx ends.
func (x *execution) prepareAhead(ctx context.Context, s *rollout.Stage, b *rollout.Batch) *preparing {
	p := &preparing{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(x.e.o.Parallel)
		for _, h := range b.Hosts {
			steps := prepareSteps(h)
			if len(steps) == 0 || x.hist.isHostDone(s.Name, h.Name) || x.hist.isHostFailed(s.Name, h.Name) {
				continue
			}
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				hs := &hostSession{}
				for _, st := range steps {
					if x.hist.isStepDone(s.Name, h.Name, st.Name) {
						continue
					}
					if err := x.step(gctx, s, b, h, st, hs); err != nil {
						x.closeSoon(hs)
						if errors.Is(err, errJournal) {
							return err
						}
						return nil // the host's batch runs it again
					}
				}
				x.prepared.Store(h.Name, hs) // the host's batch goes on on its session
				return nil
			})
		}
		p.err = g.Wait()
	}()
	return p
}

// preparedBarrier calls fn once every one of n hosts has passed its
// prepare steps (or ended).
type preparedBarrier struct {
	mu sync.Mutex
	n  int
	fn func()
}

func newPreparedBarrier(n int, fn func()) *preparedBarrier {
	b := &preparedBarrier{n: n, fn: fn}
	if n == 0 && fn != nil {
		fn()
	}
	return b
}

// passed returns the function a host calls once (more calls are ignored).
func (b *preparedBarrier) passed() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.n--
			last := b.n == 0
			b.mu.Unlock()
			if last && b.fn != nil {
				b.fn()
			}
		})
	}
}

// hostSessionFor returns the session h's preparation ahead left for its
// batch, or a new one.
func (x *execution) hostSessionFor(h *rollout.Host) *hostSession {
	if hs, ok := x.prepared.LoadAndDelete(h.Name); ok {
		return hs.(*hostSession)
	}
	return &hostSession{}
}

// closePrepared closes the sessions of hosts prepared ahead whose batch
// did not take them (the stage stopped first).
func (x *execution) closePrepared() {
	x.prepared.Range(func(k, v any) bool {
		x.prepared.Delete(k)
		x.closeSoon(v.(*hostSession))
		return true
	})
}
