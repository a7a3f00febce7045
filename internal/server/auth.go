package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// apiError is an error answer: `{"error": "...", "code": "..."}` with a
// stable code.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Code   string `json:"code"`
	// Report: a no-go's review report.
	Report any `json:"report,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

func errf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Msg: msg}
}

// The stable error codes.
const (
	codeUnauthorized = "unauthorized"   // 401: no or unknown token
	codeForbidden    = "forbidden"      // 403: the token's roles or plans do not allow it
	codeReadOnly     = "read_only"      // 403: the server has no --tokens
	codeRefused      = "refused"        // 403: the plan's controls refuse the identity
	codeNotFound     = "not_found"      // 404
	codeConflict     = "conflict"       // 409: the run's state does not allow it
	codeLocked       = "locked"         // 409: the environment is locked by another run
	codeNoGo         = "no_go"          // 412
	codeInvalid      = "invalid"        // 422
	codeBadRequest   = "bad_request"    // 400: not JSON, unknown field
	codeCSRF         = "csrf"           // 403: a browser write without the CSRF token or same origin
	codeReplayed     = "replayed"       // 409: a webhook delivery seen before
	codeStopping     = "stopping"       // 503: the server is stopping
	codeInternal     = "internal_error" // 500
)

// fromCore turns an error of the release core into an API error.
func fromCore(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, load.ErrUsage) { // a --set the plan refuses
		return errf(http.StatusUnprocessableEntity, codeInvalid, strings.TrimPrefix(strings.ReplaceAll(err.Error(), "--set", "set"), "usage: "))
	}
	var le *release.LockedError
	if errors.As(err, &le) {
		msg := "the environment is locked by run " + le.Lock.RunID
		return errf(http.StatusConflict, codeLocked, msg)
	}
	var we *release.WaitEndedError
	if errors.As(err, &we) {
		return errf(http.StatusConflict, codeConflict, we.Error())
	}
	var ce *release.Error
	if errors.As(err, &ce) {
		msg := ce.Msg
		if msg == "" && len(ce.Diags) > 0 {
			msg = ce.Diags.Errors().Error()
		}
		switch ce.Kind {
		case release.Invalid:
			return errf(http.StatusUnprocessableEntity, codeInvalid, msg)
		case release.NotFound:
			return errf(http.StatusNotFound, codeNotFound, msg)
		case release.Conflict:
			return errf(http.StatusConflict, codeConflict, msg)
		case release.Refused:
			return errf(http.StatusForbidden, codeRefused, msg)
		case release.NoGo:
			e := errf(http.StatusPreconditionFailed, codeNoGo, msg)
			if ce.Report != nil {
				e.Report = ce.Report
			}
			return e
		}
		return errf(http.StatusInternalServerError, codeInternal, msg)
	}
	return errf(http.StatusInternalServerError, codeInternal, "internal error (see the server's log)")
}

// caller is who makes a request: a token, or nobody (no --tokens).
type caller struct {
	token  *Token
	remote string
}

// identity is who acts: the token's name, vouched for by the token.
func (c *caller) identity() store.Identity {
	return store.Identity{Name: c.token.Name, Via: store.ViaAPI, Token: c.token.Name}
}

type ctxKey struct{}

func callerOf(r *http.Request) *caller { return r.Context().Value(ctxKey{}).(*caller) }

// authed wraps h: it finds the caller and checks that it may do p (the
// plan is checked by the handler, with mayPlan, once it is known).
func (s *Server) authed(p perm, h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &caller{remote: r.RemoteAddr}
		if err := s.authenticate(r, c, p); err != nil {
			writeErr(w, err)
			return
		}
		if p != permRead {
			defer s.statuses.wrote() // after the write: answers computed before it are not given again
			s.log.Info("api write", "identity", c.token.Name, "remote", c.remote, "method", r.Method, "path", r.URL.Path)
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
		if err := h(w, r); err != nil {
			ae := fromCore(err)
			if ae.Status == http.StatusInternalServerError {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeErr(w, ae)
		}
	}
}

func (s *Server) authenticate(r *http.Request, c *caller, p perm) *apiError {
	if s.cfg.Tokens == nil {
		if p != permRead {
			return errf(http.StatusForbidden, codeReadOnly, "this server is read-only: it was started without --tokens")
		}
		return nil
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if err := s.fromCookie(r, c, p); err != nil {
			return err
		}
	} else {
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || secret == "" {
			return errf(http.StatusUnauthorized, codeUnauthorized, "no token: send Authorization: Bearer TOKEN")
		}
		if c.token = s.cfg.Tokens.Find(strings.TrimSpace(secret)); c.token == nil {
			return errf(http.StatusUnauthorized, codeUnauthorized, "unknown token")
		}
	}
	if !c.token.may(p) {
		return errf(http.StatusForbidden, codeForbidden, "token "+c.token.Name+" lacks the role for this (needs "+p.String()+")")
	}
	return nil
}

// mayPlan checks that the caller may see plan; a plan it may not see is
// answered as forbidden, an unknown one as not found.
func (s *Server) mayPlan(r *http.Request, plan string) (*Plan, error) {
	c := callerOf(r)
	if c.token != nil && !c.token.onPlan(plan) {
		return nil, errf(http.StatusForbidden, codeForbidden, "token "+c.token.Name+" is not for plan "+plan)
	}
	p := s.plan(plan)
	if p == nil {
		return nil, errf(http.StatusNotFound, codeNotFound, "no plan named "+jsonQuote(plan))
	}
	return p, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, e *apiError) { writeJSON(w, e.Status, e) }
