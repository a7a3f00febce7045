package engine

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// PreflightResult is one preflight check on one target (Host "" for the
// controller).
type PreflightResult = check.PreflightResult

// Preflight runs every preflight check on every target it names, in
// parallel, and changes nothing. The results are in plan order.
func (e *Engine) Preflight(ctx context.Context, ro *rollout.Rollout) []PreflightResult {
	x := e.newExecution(store.Run{Plan: ro.Plan, Env: ro.Env}, ro, newHistory())
	x.readOnly = true
	defer x.closeConns()
	type job struct {
		c *rollout.Check
		h *rollout.Host
	}
	var jobs []job
	for _, c := range ro.Preflight {
		if len(c.Targets) == 0 {
			jobs = append(jobs, job{c, nil})
		}
		for i, h := range c.Targets {
			jobs = append(jobs, job{c.PerTarget[i], h})
		}
	}
	results := make([]PreflightResult, len(jobs))
	var mu sync.Mutex
	g := errgroup.Group{}
	g.SetLimit(e.o.Parallel)
	for i, j := range jobs {
		g.Go(func() error {
			r := PreflightResult{Check: j.c.Name}
			var conn transport.Conn
			var err error
			if j.h == nil {
				conn, err = x.localConn(ctx)
			} else {
				r.Host = j.h.Name
				conn, err = x.conn(ctx, j.h)
			}
			if err != nil {
				r.Result = check.Result{Detail: err.Error()}
			} else {
				env := map[string]string{"GOLIVE_RELEASE": ro.Release, "GOLIVE_PREVIOUS": ro.Previous}
				if j.h != nil {
					env["GOLIVE_HOST"], env["GOLIVE_ADDRESS"] = j.h.Name, j.h.Address
				}
				r.Result = e.checker.Until(ctx, j.c, conn, env)
			}
			r.Result.Detail = e.o.Redactor.String(r.Result.Detail)
			r.Result.Output = e.o.Redactor.String(r.Result.Output)
			mu.Lock()
			results[i] = r
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return results
}

// Reach dials every target of the rollout that is not local, in parallel,
// changing nothing: an unreachable host, refused credentials or an
// unknown or changed host key show up here, in the review, rather than as
// a failed step. It returns the problems by host.
func (e *Engine) Reach(ctx context.Context, ro *rollout.Rollout) map[string]error {
	x := e.newExecution(store.Run{Plan: ro.Plan, Env: ro.Env}, ro, newHistory())
	x.readOnly = true
	defer x.closeConns()
	// In plan order: with a cap on the connections kept for reuse
	// (ssh MaxIdle), those kept are the first batches', which the run
	// takes first.
	var hosts []*rollout.Host
	seen := map[string]bool{}
	for _, s := range ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				if h.Transport != "local" && !seen[h.Name] {
					seen[h.Name] = true
					hosts = append(hosts, h)
				}
			}
		}
	}
	problems := map[string]error{}
	var mu sync.Mutex
	g := errgroup.Group{}
	g.SetLimit(e.o.Parallel)
	for _, h := range hosts {
		g.Go(func() error {
			c, err := x.dial(ctx, h)
			if err != nil {
				mu.Lock()
				problems[h.Name] = err
				mu.Unlock()
				return nil
			}
			// Closed at once, not at the end: a fleet's connections are
			// not all held together (a transport may keep it for the run).
			c.Close()
			return nil
		})
	}
	g.Wait()
	return problems
}
