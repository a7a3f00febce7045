package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Browser sessions: the token is given once (POST /api/v1/session, the
// sign-in page's form) and the browser then holds only a random session
// id in an HttpOnly, SameSite=Strict cookie (Secure when TLS). Every
// state-changing request authenticated by the cookie also needs the
// session's CSRF token (X-CSRF-Token) or a same-origin Origin header.

const (
	sessionCookie = "golive_session"
	sessionTTL    = 12 * time.Hour
)

type session struct {
	token   *Token
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) add(t *Token) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	now := time.Now()
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	id := randomID()
	s := &session{token: t, csrf: randomID(), expires: now.Add(sessionTTL)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
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
	writeJSON(w, http.StatusCreated, map[string]any{"name": t.Name, "roles": t.Roles, "plans": nonNilStrings(t.Plans), "csrf": sess.csrf})
}

// newSession starts a session for t and sets its cookie (the API's and
// the sign-in page's).
func (s *Server) newSession(w http.ResponseWriter, r *http.Request, t *Token) *session {
	id, sess := s.sessions.add(t)
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
