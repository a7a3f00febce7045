package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

// Hook is a signed webhook of the tokens file: deliveries to
// /api/v1/hooks/{plan} signed with the key in SecretEnv start runs of
// Plan as As.
type Hook struct {
	Plan      string `yaml:"plan"`
	Env       string `yaml:"env,omitempty"`
	SecretEnv string `yaml:"secret_env"`
	As        string `yaml:"as"`
	// MaxAge, when set ("5m"), makes deliveries timestamped: the
	// signature covers "TIMESTAMP.BODY" (X-Golive-Timestamp, Unix
	// seconds), a timestamp further than MaxAge from the server's clock
	// is refused, and so is a signature seen before: a captured delivery
	// cannot be sent again, whatever its delivery id.
	MaxAge string `yaml:"max_age,omitempty"`
	key    []byte
	maxAge time.Duration
}

// Bounds of a hook's max_age.
const (
	minHookAge = time.Second
	maxHookAge = 24 * time.Hour // well inside the 7 days delivery ids are kept
)

func (h *Hook) check(getenv func(string) string) error {
	if h.Plan == "" {
		return errors.New("plan: which plan the hook starts")
	}
	if err := values.NoControl("plan", h.Plan); err != nil {
		return err
	}
	if h.Env != "" {
		if err := values.Name("env", h.Env); err != nil {
			return err
		}
	}
	if err := values.Actor("as", h.As); err != nil {
		return err
	}
	if h.SecretEnv == "" {
		return fmt.Errorf("hook of %s: secret_env: name the environment variable holding the HMAC key", h.Plan)
	}
	key := getenv(h.SecretEnv)
	if len(key) < 16 {
		return fmt.Errorf("hook of %s: $%s: want the HMAC key, at least 16 characters (it is unset or shorter)", h.Plan, h.SecretEnv)
	}
	h.key = []byte(key)
	if h.MaxAge != "" {
		d, err := time.ParseDuration(h.MaxAge)
		if err != nil || d < minHookAge || d > maxHookAge {
			return fmt.Errorf("hook of %s: max_age: want a duration from %s to %s, such as 5m", h.Plan, minHookAge, maxHookAge)
		}
		h.maxAge = d
	}
	return nil
}

// verify checks a delivery's signature, and for a hook with max_age its
// timestamp: why it is refused ("" when it is not) and, for a timestamped
// delivery, the key that refuses it when sent again (its signature).
func (h *Hook) verify(r *http.Request, body []byte, now time.Time) (why, replayKey string) {
	if h.maxAge == 0 {
		sig := r.Header.Get("X-Golive-Signature")
		if sig == "" {
			sig = r.Header.Get("X-Hub-Signature-256")
		}
		if !signedWith(sig, body, h.key) {
			return "bad or missing signature: X-Golive-Signature: sha256=HMAC-SHA256 of the body", ""
		}
		return "", ""
	}
	ts := r.Header.Get("X-Golive-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	sig := r.Header.Get("X-Golive-Signature") // GitHub's cannot sign a timestamp
	if err != nil || !signedWith(sig, append([]byte(ts+"."), body...), h.key) {
		return "bad or missing signature: this hook is timestamped: X-Golive-Timestamp: Unix seconds, X-Golive-Signature: sha256=HMAC-SHA256 of TIMESTAMP.BODY", ""
	}
	if age := now.Sub(time.Unix(sec, 0)); age > h.maxAge || age < -h.maxAge {
		return fmt.Sprintf("the delivery's timestamp is %s from the server's clock; the hook takes at most %s", age.Round(time.Second), h.maxAge), ""
	}
	return "", "signature:" + strings.ToLower(strings.TrimPrefix(sig, "sha256="))
}

// hook is the hook of plan (nil: none).
func (s *Server) hook(plan string) *Hook {
	if s.cfg.Tokens == nil {
		return nil
	}
	return s.cfg.Tokens.Hook(plan)
}

// hookInput is what a delivery asks for: our JSON, or GitHub's release
// (published) and tag push events.
type hookInput struct {
	Release, Env, Ticket string
	Ignored              string // why the delivery starts nothing
}

func parseHook(r *http.Request, body []byte) (hookInput, error) {
	var in hookInput
	switch ev := r.Header.Get("X-GitHub-Event"); ev {
	case "":
		var b struct {
			Release string `json:"release"`
			Env     string `json:"env"`
			Ticket  string `json:"ticket"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return in, errf(http.StatusBadRequest, codeBadRequest, "the body is not {release, env, ticket}: "+err.Error())
		}
		in.Release, in.Env, in.Ticket = b.Release, b.Env, b.Ticket
	case "release":
		var b struct {
			Action  string `json:"action"`
			Release struct {
				TagName string `json:"tag_name"`
			} `json:"release"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return in, errf(http.StatusBadRequest, codeBadRequest, "the GitHub release payload is not JSON: "+err.Error())
		}
		if b.Action != "published" {
			in.Ignored = "a release event that is not published"
		}
		in.Release = b.Release.TagName
	case "push":
		var b struct {
			Ref string `json:"ref"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return in, errf(http.StatusBadRequest, codeBadRequest, "the GitHub push payload is not JSON: "+err.Error())
		}
		tag, ok := strings.CutPrefix(b.Ref, "refs/tags/")
		if !ok {
			in.Ignored = "a push that is not of a tag"
		}
		in.Release = tag
	case "ping":
		in.Ignored = "ping"
	default:
		in.Ignored = "GitHub event " + values.Quote(ev)
	}
	return in, nil
}

// webhook starts a run from a signed delivery: HMAC-SHA256 of the raw
// body with the hook's key (X-Golive-Signature, or GitHub's
// X-Hub-Signature-256), compared in constant time; a delivery id seen
// before is refused. A bad signature starts nothing and is logged.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("plan")
	h := s.hook(name)
	p := s.plan(name)
	if h == nil || p == nil {
		s.metrics.hooks.WithLabelValues("no_hook").Inc()
		writeErr(w, errf(http.StatusNotFound, codeNotFound, "no hook for plan "+jsonQuote(name)))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErr(w, errf(http.StatusBadRequest, codeBadRequest, "reading the body: "+err.Error()))
		return
	}
	why, replayKey := h.verify(r, body, time.Now())
	if why != "" {
		s.metrics.hooks.WithLabelValues("bad_signature").Inc()
		s.refused(r, store.AuditWebhookRefused, p.Name, why+": nothing was started")
		writeErr(w, errf(http.StatusUnauthorized, codeUnauthorized, why))
		return
	}
	id, header := deliveryID(r)
	if err := checkDeliveryID(header, id); err != nil {
		s.metrics.hooks.WithLabelValues("refused").Inc()
		writeErr(w, invalid(err))
		return
	}
	if id == "" && replayKey == "" {
		sum := sha256.Sum256(body)
		id = "body:" + hex.EncodeToString(sum[:])
	} // (a timestamped delivery without an id is known by its signature)
	if id != "" {
		first, err := s.firstDelivery(r.Context(), p.Name, id)
		if err != nil {
			writeErr(w, fromCore(err))
			return
		}
		if !first {
			s.replayed(w, r, p.Name, "this delivery was seen before: nothing was started")
			return
		}
	}
	if replayKey != "" {
		fresh, err := s.firstDelivery(r.Context(), p.Name, replayKey)
		if (err != nil || !fresh) && id != "" {
			s.forgetDelivery(p.Name, id) // the id was not used
		}
		if err != nil {
			writeErr(w, fromCore(err))
			return
		}
		if !fresh {
			s.replayed(w, r, p.Name, "this delivery (its signature) was seen before, under another delivery id: nothing was started")
			return
		}
	}
	if err := s.hookRun(w, r, h, p, body); err != nil {
		// Nothing started: a redelivery of the id may try again. A
		// signature stays seen: a timestamped delivery is tried again
		// signed with a new timestamp.
		if id != "" {
			s.forgetDelivery(p.Name, id)
		}
		s.metrics.hooks.WithLabelValues("refused").Inc()
		writeErr(w, fromCore(err))
	}
}

// replayed answers a delivery seen before (409) and logs it.
func (s *Server) replayed(w http.ResponseWriter, r *http.Request, plan, msg string) {
	s.metrics.hooks.WithLabelValues("replayed").Inc()
	s.log.Warn("webhook refused: delivery seen before", "plan", plan, "remote", r.RemoteAddr)
	writeErr(w, errf(http.StatusConflict, codeReplayed, msg))
}

func (s *Server) hookRun(w http.ResponseWriter, r *http.Request, h *Hook, p *Plan, body []byte) error {
	in, err := parseHook(r, body)
	if err != nil {
		return err
	}
	if in.Ignored != "" {
		s.metrics.hooks.WithLabelValues("ignored").Inc()
		writeJSON(w, http.StatusOK, map[string]string{"ignored": in.Ignored})
		return nil
	}
	if h.Env != "" {
		if in.Env != "" && in.Env != h.Env {
			return invalid(fmt.Errorf("env: the hook releases to %s, the delivery names %s", h.Env, values.Quote(in.Env)))
		}
		in.Env = h.Env
	}
	ri := releaseInput{Release: in.Release, Env: in.Env, Ticket: in.Ticket}
	pin, err := ri.check(p)
	if err != nil {
		return err
	}
	pin.SetFrom = plan.FromNetwork
	by := store.Identity{Name: h.As, Via: store.ViaAPI, Token: h.As}
	run, err := s.start(r.Context(), p, pin, startOpts{release: in.Release, ticket: in.Ticket}, by)
	if err != nil {
		return err
	}
	s.metrics.hooks.WithLabelValues("started").Inc()
	s.auditAs(r, p.File, run.ID, "signed webhook", h.As, r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, runJSON(run))
	return nil
}

// signedWith checks sig ("sha256=HEX") as the HMAC-SHA256 of msg with
// key, in constant time.
func signedWith(sig string, msg, key []byte) bool {
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(msg)
	return hmac.Equal(got, mac.Sum(nil))
}

// deliveryID is the delivery's id and the header that gave it: golive's
// own, else GitHub's; "" when it has none.
func deliveryID(r *http.Request) (id, header string) {
	for _, h := range []string{"X-Golive-Delivery", "X-GitHub-Delivery"} {
		if id := r.Header.Get(h); id != "" {
			return id, h
		}
	}
	return "", ""
}

// checkDeliveryID refuses a delivery id that is not one line of UTF-8
// text (it is kept in the store and shown; one over 200 bytes is kept as
// its sha256: deliveryKey), or that could be taken for a key golive makes
// itself (of a body, a signature, a long id).
func checkDeliveryID(header, id string) error {
	for _, own := range []string{"signature:", "body:", "sha256:"} {
		if strings.HasPrefix(id, own) {
			return fmt.Errorf("%s header: %s starts the ids golive makes itself", header, values.Quote(own))
		}
	}
	return values.NoControl(header+" header", id)
}
