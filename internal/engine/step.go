package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// StepError is a step that did not succeed on a host.
type StepError struct {
	Host, Step string
	ExitCode   int // -1 when it did not exit by itself
	Why        string
}

func (e *StepError) Error() string {
	if e.ExitCode >= 0 {
		return fmt.Sprintf("step %s: exit %d%s", e.Step, e.ExitCode, e.Why)
	}
	return fmt.Sprintf("step %s: %s", e.Step, e.Why)
}

// step runs one step on a host with its timeout and retries; run steps
// go over hs, the host's session, when its connection offers one.
func (x *execution) step(ctx context.Context, s *rollout.Stage, b *rollout.Batch, h *rollout.Host, st *rollout.Step, hs *hostSession) error {
	ev := store.Event{Kind: store.KindStep, Stage: s.Name, Batch: b.Index, Host: h.Name, Step: st.Name}
	if st.Skip {
		ev.Action, ev.Message = store.ActionSkipped, "when is false"
		return x.journalOrFail(ctx, ev)
	}
	attempts := st.Retries + 1
	var last error
	for attempt := x.firstAttempt(s.Name, h.Name, st); attempt <= attempts; attempt++ {
		if !st.Local {
			// Reach the host before journaling the start: a host that
			// cannot be reached (or not trusted) was not touched.
			if _, err := x.conn(ctx, h); err != nil {
				if ctx.Err() != nil { // cancelled while dialing: start nothing more
					return context.Cause(ctx)
				}
				ev.Action, ev.Message = store.ActionFailed, "not started: "+err.Error()
				x.journalOrFail(ctx, ev)
				return &StepError{Host: h.Name, Step: st.Name, ExitCode: -1, Why: err.Error()}
			}
			x.stopEarlierAttempts(ctx, s.Name, h.Name, st.Name)
		}
		if ctx.Err() != nil { // the batch was cancelled: start nothing more
			return context.Cause(ctx)
		}
		ev.Action, ev.Message, ev.ExitCode, ev.Output, ev.Duration = store.ActionStarted, "", nil, "", 0
		if attempts > 1 {
			ev.Message = fmt.Sprintf("attempt %d/%d", attempt, attempts)
		}
		if err := x.journalOrFail(ctx, ev); err != nil {
			return err
		}
		if err := x.stillExecutor(ctx); err != nil {
			return fmt.Errorf("%w: %w", errJournal, err) // stop the run: nothing ran
		}
		res, out, proc, err := x.attempt(ctx, s, b, h, st, hs)
		ev.Duration, ev.Output = res.Duration, out
		if res.ExitCode >= 0 && err == nil {
			ev.ExitCode = store.ExitCode(res.ExitCode)
		}
		switch {
		case err == nil && res.ExitCode == 0:
			ev.Action = store.ActionFinished
			return x.journalOrFail(ctx, ev)
		case ctx.Err() != nil:
			ev.Action, ev.Message = store.ActionTerminated, "terminated: "+context.Cause(ctx).Error()
			if x.journalOrFail(ctx, ev) == nil && res.Stopped && proc != nil {
				// The transport stopped the script's process group: a
				// backout or resume need not look for it again (on a
				// large fleet, a login and a look through /proc per host).
				x.journal(ctx, store.Event{Kind: store.KindStep, Action: ActionRemoteStopped, Stage: s.Name, Batch: b.Index,
					Host: h.Name, Step: st.Name, Message: fmt.Sprintf("stopped %s: its step was terminated", proc)})
			}
			return &StepError{Host: h.Name, Step: st.Name, ExitCode: -1, Why: "terminated"}
		case errors.Is(err, errStepTimeout):
			ev.Action, ev.Message = store.ActionTimedOut, fmt.Sprintf("timed out after %s, killed", st.Timeout)
			last = &StepError{Host: h.Name, Step: st.Name, ExitCode: -1, Why: ev.Message}
		case err != nil:
			ev.Action, ev.Message = store.ActionFailed, err.Error()
			last = &StepError{Host: h.Name, Step: st.Name, ExitCode: -1, Why: err.Error()}
		default:
			ev.Action = store.ActionFailed
			last = &StepError{Host: h.Name, Step: st.Name, ExitCode: res.ExitCode, Why: lastLine(out)}
		}
		if attempt < attempts {
			ev.Action = store.ActionRetried
			ev.Message = strings.TrimSpace(ev.Message + " (will retry)")
		}
		if err := x.journalOrFail(ctx, ev); err != nil {
			return err
		}
	}
	return last
}

var errStepTimeout = errors.New("step timed out")

// attempt runs a step once; the returned output is its tail, redacted,
// and proc the remote process group its script ran in (nil: not known).
func (x *execution) attempt(ctx context.Context, s *rollout.Stage, b *rollout.Batch, h *rollout.Host, st *rollout.Step, hs *hostSession) (_ transport.Result, _ string, proc *transport.RemoteProc, _ error) {
	sctx, cancel := context.WithTimeoutCause(ctx, st.Timeout, errStepTimeout)
	defer cancel()
	var conn transport.Conn
	var err error
	if st.Local {
		conn, err = x.localConn(ctx)
	} else {
		conn, err = x.conn(ctx, h)
	}
	if err != nil {
		return transport.Result{}, "", nil, err
	}
	if st.Local {
		hs = nil // the controller's steps are not the host's
	}
	if st.Upload != nil {
		res, out, err := x.upload(sctx, conn, h, st)
		return res, out, nil, err
	}
	tail := &transport.Tail{Max: tailKeep}
	started := x.started(ctx, s.Name, b.Index, h.Name, st.Name, false)
	cmd := transport.Command{Script: st.Run, Env: x.stepEnv(s, b, h, st), Stdout: tail, Stderr: tail,
		// Run returns after Started (transport.Command), so proc is set
		// before it is read.
		Started: func(p transport.RemoteProc) { started(p); proc = &p }}
	var res transport.Result
	res, err = hs.run(sctx, conn, cmd)
	x.dropIfLost(h, err)
	if err != nil && errors.Is(context.Cause(sctx), errStepTimeout) && ctx.Err() == nil {
		err = fmt.Errorf("%w: %v", errStepTimeout, err)
	}
	return res, tail.String(), proc, err
}

func (x *execution) upload(ctx context.Context, conn transport.Conn, h *rollout.Host, st *rollout.Step) (transport.Result, string, error) {
	u := st.Upload
	src, sum := u.Src, ""
	if u.Artifact != "" {
		a, ok := x.e.o.Artifacts[u.Artifact]
		if !ok {
			return transport.Result{}, "", fmt.Errorf("artifact %q was not verified before the run", u.Artifact)
		}
		src, sum = a.Path, a.SHA256
	} else if a, ok := x.e.o.Artifacts["src:"+u.Src]; ok {
		src, sum = a.Path, a.SHA256
	}
	mode, _ := strconv.ParseUint(u.Mode, 8, 32)
	start := time.Now()
	// Uploads take a session of their own even when the host's steps share
	// one (transport.SessionUploader could carry them): measured on
	// CPU-limited hosts, an upload over the shared session was 20-30 %
	// slower (bench/README.md, issue 12).
	res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: u.To, Mode: osMode(mode)})
	r := transport.Result{ExitCode: 0, Duration: time.Since(start)}
	if err != nil {
		if errors.Is(context.Cause(ctx), errStepTimeout) {
			err = fmt.Errorf("%w: %v", errStepTimeout, err)
		}
		return transport.Result{Duration: r.Duration}, "", err
	}
	msg := fmt.Sprintf("uploaded %d bytes to %s", res.Bytes, u.To)
	if res.Skipped {
		msg = fmt.Sprintf("skipped: %s already has sha256 %s", u.To, short(sum))
	}
	return r, msg, nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// stepEnv is the contract's GOLIVE_* environment plus the step's env.
func (x *execution) stepEnv(s *rollout.Stage, b *rollout.Batch, h *rollout.Host, st *rollout.Step) map[string]string {
	env := map[string]string{
		"GOLIVE_RELEASE": x.ro.Release, "GOLIVE_PREVIOUS": x.ro.Previous, "GOLIVE_HOST": h.Name,
		"GOLIVE_ADDRESS": h.Address, "GOLIVE_RUN_ID": x.run.ID, "GOLIVE_STAGE": s.Name,
		"GOLIVE_STEP": st.Name, "GOLIVE_BATCH": strconv.Itoa(b.Index),
	}
	for k, v := range st.Env {
		env[k] = v
	}
	if a, ok := x.e.o.Artifacts[st.SHA256Of]; ok && st.SHA256Of != "" {
		env["GOLIVE_ARTIFACT_SHA256"] = strings.ToLower(a.SHA256)
	}
	return env
}

func (x *execution) journalOrFail(ctx context.Context, ev store.Event) error {
	if err := x.journal(ctx, ev); err != nil {
		return fmt.Errorf("%w: %w", errJournal, err)
	}
	return nil
}

// tailKeep is how much output a step keeps: the journal's tail. The output
// is redacted as it streams (redactedConn), before the tail cuts it, so no
// cut can split a secret, however long.
const tailKeep = store.MaxOutput

// lastLine returns ": <last non-empty line>" of output, or "".
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 200 {
				l = l[:200] + "..."
			}
			return ": " + l
		}
	}
	return ""
}
