package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// CheckError is a health or verify check that did not pass.
type CheckError struct {
	Check, Host, Detail string
}

func (e *CheckError) Error() string {
	where := ""
	if e.Host != "" {
		where = " on " + e.Host
	}
	return fmt.Sprintf("check %q%s: %s", e.Check, where, e.Detail)
}

// runCheck runs a check until it passes or times out, journaling both ends.
func (x *execution) runCheck(ctx context.Context, stage string, batch int, h *rollout.Host, c *rollout.Check, conn transport.Conn) error {
	host := ""
	if h != nil {
		host = h.Name
	}
	ev := store.Event{Kind: store.KindCheck, Action: store.ActionStarted, Stage: stage, Batch: batch, Host: host, Step: c.Name}
	if err := x.journalOrFail(ctx, ev); err != nil {
		return err
	}
	if c.Kind == "confirm" {
		ev.Action, ev.Message = store.ActionFailed, "confirm is a sign-off, not a check"
		x.journalOrFail(ctx, ev)
		return &CheckError{Check: c.Name, Detail: ev.Message}
	}
	env := map[string]string{"GOLIVE_RELEASE": x.ro.Release, "GOLIVE_PREVIOUS": x.ro.Previous, "GOLIVE_RUN_ID": x.run.ID, "GOLIVE_STAGE": stage}
	if h != nil {
		env["GOLIVE_HOST"], env["GOLIVE_ADDRESS"] = h.Name, h.Address
	}
	res := x.e.checker.Until(ctx, c, conn, env)
	ev.Duration, ev.Output, ev.Message = res.Duration, res.Output, res.Detail
	ev.Action = store.ActionPassed
	if !res.OK {
		ev.Action = store.ActionFailed
		if ctx.Err() != nil {
			ev.Action = store.ActionTerminated
		}
	}
	if err := x.journalOrFail(ctx, ev); err != nil {
		return err
	}
	if !res.OK {
		return &CheckError{Check: c.Name, Host: host, Detail: res.Detail}
	}
	return nil
}

// verify runs the plan's verify checks after the last stage.
func (x *execution) verify(ctx context.Context) error {
	if x.run.State == store.StateRunning {
		if err := x.setState(ctx, []store.State{store.StateRunning}, store.StateVerifying, "all stages done; verifying"); err != nil {
			return err
		}
	}
	if !x.hist.isVerified() {
		for _, c := range x.ro.Verify {
			if c.Kind == "confirm" {
				continue
			}
			if err := x.verifyCheck(ctx, c); err != nil {
				return fmt.Errorf("%w: %v", errVerify, err)
			}
		}
		if err := x.journalOrFail(ctx, store.Event{Kind: store.KindRun, Action: store.ActionPassed, Message: "verify passed"}); err != nil {
			return err
		}
	}
	for _, c := range x.ro.Verify {
		if c.Kind != "confirm" {
			continue
		}
		err := x.awaitApprovals(ctx, "verify", c.Approvals, c.Timeout)
		var pause *PauseError
		if err != nil && !errors.As(err, &pause) {
			return fmt.Errorf("%w: %v", errVerify, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) verifyCheck(ctx context.Context, c *rollout.Check) error {
	if c.Local || len(c.Targets) == 0 {
		conn, err := x.localConn(ctx)
		if err != nil {
			return err
		}
		return x.runCheck(ctx, "", 0, nil, c, conn)
	}
	for i, h := range c.Targets {
		conn, err := x.conn(ctx, h)
		if err != nil {
			return err
		}
		if err := x.runCheck(ctx, "", 0, h, c.PerTarget[i], conn); err != nil {
			return err
		}
	}
	return nil
}

// CheckLive runs the health checks of every host and the verify checks
// (not sign-offs) of ro, changing nothing: after a rehearsal's backout,
// ro is built for the release that should be live again. It returns one
// line per check that did not pass.
func (e *Engine) CheckLive(ctx context.Context, run store.Run, ro *rollout.Rollout) []string {
	x := e.newExecution(run, ro, newHistory())
	defer x.closeConns()
	var problems []string
	for _, s := range ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				conn, err := x.conn(ctx, h)
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				for _, c := range h.Health {
					if err := x.runCheck(ctx, s.Name, b.Index, h, c, conn); err != nil {
						problems = append(problems, err.Error())
					}
				}
			}
		}
	}
	for _, c := range ro.Verify {
		if c.Kind == "confirm" {
			continue
		}
		if err := x.verifyCheck(ctx, c); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}
