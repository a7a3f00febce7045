package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Browser sessions: the token is given once (POST /api/v1/session, the
// sign-in page's form) and the browser then holds only a random session
// id in an HttpOnly, SameSite=Strict cookie (Secure when TLS). Every
// state-changing request authenticated by the cookie also needs the
// session's CSRF token (X-CSRF-Token) or a same-origin Origin header.
//
// Sessions are kept in the server's store (state.go), so a restart signs
// nobody out: only the sha256 of the session id is stored, with the
// token's name and sha256; the CSRF token is derived from the session id
// (never stored). A session ends when it expires, on sign-out, or once
// its token is no longer in the tokens file (revoked, or its hash
// changed, on SIGHUP).

const (
	sessionCookie = "golive_session"
	sessionTTL    = 12 * time.Hour
)

type session struct {
	token   *Token
	csrf    string
	expires time.Time
}

// sessions are the browser sessions, in the server's store.
type sessions struct {
	s *Server
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionHash is what the store knows of a session id.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// csrfOf is the CSRF token of session id: derived from it, so that the
// store never holds it, and no one learns the id from it.
func csrfOf(id string) string {
	sum := sha256.Sum256([]byte("golive csrf\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (ss *sessions) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// add starts a session of token t; ("", nil) when the store failed (it
// is logged).
func (ss *sessions) add(t *Token) (string, *session) {
	ctx, cancel := ss.ctx()
	defer cancel()
	id := randomID()
	now := time.Now()
	sess := &session{token: t, csrf: csrfOf(id), expires: now.Add(sessionTTL)}
	err := ss.s.state.CreateSession(ctx, store.Session{IDHash: sessionHash(id), Name: t.Name,
		TokenSHA256: hex.EncodeToString(t.sum), Created: now, Expires: sess.expires})
	if err != nil {
		ss.s.log.Error("sign-in: the session could not be stored", "identity", t.Name, "err", err)
		return "", nil
	}
	return id, sess
}

// get is the session of id, while it lasts and its token is still in the
// tokens file (nil: none).
func (ss *sessions) get(id string) *session {
	if id == "" || ss.s == nil || ss.s.state == nil || ss.s.cfg.Tokens == nil {
		return nil
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	st, err := ss.s.state.GetSession(ctx, sessionHash(id), time.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			ss.s.log.Error("reading a session", "err", err)
		}
		return nil
	}
	t := ss.s.cfg.Tokens.Named(st.Name)
	if t == nil || hex.EncodeToString(t.sum) != st.TokenSHA256 {
		return nil // revoked: the token is gone or was changed
	}
	return &session{token: t, csrf: csrfOf(id), expires: st.Expires}
}

// remove ends the session of id.
func (ss *sessions) remove(id string) {
	ctx, cancel := ss.ctx()
	defer cancel()
	if err := ss.s.state.DeleteSession(ctx, sessionHash(id)); err != nil {
		ss.s.log.Error("sign-out: the session could not be deleted", "err", err)
	}
}

// fromCookie authenticates a request by its session cookie; a write also
// needs the CSRF token or a same-origin Origin.
func (s *Server) fromCookie(r *http.Request, c *caller, p perm) *apiError {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return errf(http.StatusUnauthorized, codeUnauthorized, "no token: send Authorization: Bearer TOKEN, or sign in")
	}
	sess := s.sessions.get(ck.Value)
	if sess == nil {
		return errf(http.StatusUnauthorized, codeUnauthorized, "the session is unknown or expired: sign in again")
	}
	c.token = sess.token
	if p != permRead && !s.sameOrigin(r) && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(sess.csrf)) != 1 {
		return errf(http.StatusForbidden, codeCSRF, "a write from a browser session needs the page's CSRF token (X-CSRF-Token) or a same-origin request")
	}
	return nil
}

// sameOrigin reports whether the request's Origin is this server.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}

// signIn takes a token once and answers with a session cookie and its
// CSRF token.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Tokens == nil {
		writeErr(w, errf(http.StatusForbidden, codeReadOnly, "this server has no tokens (--tokens): there is nothing to sign in with"))
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, fromCore(err))
		return
	}
	t := s.cfg.Tokens.Find(body.Token)
	if t == nil || body.Token == "" {
		s.log.Warn("sign-in refused: unknown token", "remote", r.RemoteAddr)
		writeErr(w, errf(http.StatusUnauthorized, codeUnauthorized, "unknown token"))
		return
	}
	sess := s.newSession(w, r, t)
	if sess == nil {
		return // answered
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": t.Name, "roles": t.Roles, "plans": nonNilStrings(t.Plans), "csrf": sess.csrf})
}

// newSession starts a session for t and sets its cookie (the API's and
// the sign-in page's). When the session cannot be stored it answers 500
// itself and returns nil.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request, t *Token) *session {
	id, sess := s.sessions.add(t)
	if sess == nil {
		writeErr(w, errf(http.StatusInternalServerError, codeInternal, "the session could not be stored: see the server's log"))
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(sessionTTL.Seconds())})
	s.log.Info("signed in", "identity", t.Name, "remote", r.RemoteAddr)
	return sess
}

// endSession ends the session of the cookie and clears it.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: -1})
}

// signOut ends the session of the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// whoAmI is the caller's identity (and, for a session, its CSRF token).
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if c.token == nil {
		writeJSON(w, http.StatusOK, map[string]any{"name": "", "roles": []string{}, "read_only": true})
		return nil
	}
	out := map[string]any{"name": c.token.Name, "roles": c.token.Roles, "plans": nonNilStrings(c.token.Plans)}
	if ck, err := r.Cookie(sessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		if sess := s.sessions.get(ck.Value); sess != nil {
			out["csrf"] = sess.csrf
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
