package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/golive-dev/golive/internal/values"
)

// Role is what a token may do (see docs/server.md).
type Role string

// The roles.
const (
	RoleViewer   Role = "viewer"   // read plans, previews, runs, events, reports
	RoleDeployer Role = "deployer" // viewer + review, start, resume, backout, abort
	RoleApprover Role = "approver" // viewer + approve, reject, confirm
	RoleAdmin    Role = "admin"    // everything
)

// Roles are the roles a token may name.
var Roles = []Role{RoleViewer, RoleDeployer, RoleApprover, RoleAdmin}

// perm is a kind of request, as the roles grant them.
type perm int

const (
	permRead    perm = iota // GET: plans, runs, events
	permDeploy              // review, start, resume, backout, abort
	permApprove             // approve, reject, confirm
)

func (p perm) String() string {
	return [...]string{"viewer", "deployer", "approver"}[p]
}

// Token is one line of the tokens file: the token itself is never kept,
// only its sha256.
type Token struct {
	Name   string   `yaml:"name"`
	SHA256 string   `yaml:"sha256"`
	Roles  []Role   `yaml:"roles"`
	Plans  []string `yaml:"plans,omitempty"`
	sum    []byte
}

// may reports whether the token's roles grant p.
func (t *Token) may(p perm) bool {
	for _, r := range t.Roles {
		switch {
		case r == RoleAdmin, p == permRead:
			return true
		case r == RoleDeployer && p == permDeploy, r == RoleApprover && p == permApprove:
			return true
		}
	}
	return false
}

// onPlan reports whether the token may see plan.
func (t *Token) onPlan(plan string) bool {
	return len(t.Plans) == 0 || slices.Contains(t.Plans, plan)
}

// Tokens are the tokens of a tokens file.
//
// A server's Tokens are replaced in place when the file is read again
// (SIGHUP: Replace); read them through the methods, which hold the lock.
type Tokens struct {
	List []*Token `yaml:"tokens"`
	// Hooks are the signed webhooks (hooks.go).
	Hooks []*Hook `yaml:"hooks,omitempty"`
	mu    sync.RWMutex
}

// Replace takes the tokens and hooks of next (a file read again): from
// now on a token that is not in next is unknown.
func (ts *Tokens) Replace(next *Tokens) {
	next.mu.RLock()
	list, hooks := next.List, next.Hooks
	next.mu.RUnlock()
	ts.mu.Lock()
	ts.List, ts.Hooks = list, hooks
	ts.mu.Unlock()
}

// Named is the token named name (nil: none).
func (ts *Tokens) Named(name string) *Token {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, t := range ts.List {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Hook is the hook of plan (nil: none).
func (ts *Tokens) Hook(plan string) *Hook {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, h := range ts.Hooks {
		if h.Plan == plan {
			return h
		}
	}
	return nil
}

// LoadTokens reads a tokens file; getenv gives the hooks' keys. Every
// problem is reported with the token's place in the file; a token or key
// is never echoed.
func LoadTokens(file string, getenv func(string) string) (*Tokens, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	ts := &Tokens{}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(ts); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var errs []error
	seen := map[string]bool{}
	for i, t := range ts.List {
		where := fmt.Sprintf("%s: tokens[%d]", file, i)
		if err := t.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("%s: name %q is used twice: a name is one identity", where, t.Name))
		}
		seen[t.Name] = true
	}
	hooks := map[string]bool{}
	timestamped := map[string]string{} // key -> plan of a hook with max_age
	for i, h := range ts.Hooks {
		if err := h.check(getenv); err != nil {
			errs = append(errs, fmt.Errorf("%s: hooks[%d]: %w", file, i, err))
			continue
		}
		if hooks[h.Plan] {
			errs = append(errs, fmt.Errorf("%s: hooks[%d]: plan %s has a hook already", file, i, h.Plan))
		}
		hooks[h.Plan] = true
		if h.maxAge > 0 {
			// Each plan keeps the signatures it saw: a delivery signed
			// with a key two plans share could be sent once to each.
			if other, ok := timestamped[string(h.key)]; ok {
				errs = append(errs, fmt.Errorf("%s: hooks[%d]: the hooks of %s and %s have the same key: a timestamped hook needs a key of its own", file, i, other, h.Plan))
			}
			timestamped[string(h.key)] = h.Plan
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ts, nil
}

func (t *Token) check() error {
	if err := values.Actor("name", t.Name); err != nil {
		return err
	}
	sum, err := hex.DecodeString(strings.ToLower(t.SHA256))
	if err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("token %s: sha256: want the 64 hex digits of the token's sha256 (`golive token new` prints it), not the token itself", t.Name)
	}
	t.sum = sum
	if len(t.Roles) == 0 {
		return fmt.Errorf("token %s: roles: give at least one of viewer, deployer, approver, admin", t.Name)
	}
	for _, r := range t.Roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("token %s: role %s: want viewer, deployer, approver or admin", t.Name, values.Quote(string(r)))
		}
	}
	for _, p := range t.Plans {
		if err := values.NoControl("plans", p); err != nil {
			return fmt.Errorf("token %s: %w", t.Name, err)
		}
	}
	return nil
}

// Find returns the token whose sha256 is that of secret, comparing every
// hash in constant time (nil: none).
func (ts *Tokens) Find(secret string) *Token {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	sum := sha256.Sum256([]byte(secret))
	var found *Token
	for _, t := range ts.List {
		if subtle.ConstantTimeCompare(sum[:], t.sum) == 1 && found == nil {
			found = t
		}
	}
	return found
}

// NewToken makes a fresh random token for name with roles: the secret
// (shown once) and the line of the tokens file that knows it by its
// sha256 only.
func NewToken(name string, roles []Role) (secret, line string, err error) {
	t := &Token{Name: name, Roles: roles, SHA256: strings.Repeat("0", 64)}
	if err := t.check(); err != nil {
		return "", "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret = "glv_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	line = fmt.Sprintf("  - name: %s\n    sha256: %s\n    roles: [%s]\n", name, hex.EncodeToString(sum[:]), strings.Join(rs, ", "))
	return secret, line, nil
}
