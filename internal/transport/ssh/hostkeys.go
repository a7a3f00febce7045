package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError says why a host key was not trusted and how to fix it. It
// wraps ErrHostKey.
type HostKeyError struct {
	Addr        string   // host:port as dialled
	KeyType     string   // type of the key the server offered, e.g. ssh-ed25519
	Fingerprint string   // SHA256:... of the key the server offered
	KnownHosts  string   // the known_hosts file consulted
	Known       []string // for a changed key: "FILE:LINE SHA256:..." of the keys on record
	Revoked     bool     // the offered key is marked @revoked
}

func (e *HostKeyError) Unwrap() error { return ErrHostKey }

func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Addr)
	scan := fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, e.KnownHosts)
	offered := e.KeyType + " " + e.Fingerprint
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key of %s is REVOKED: %s is marked @revoked in %s; do not connect until the host has a new key",
			e.Addr, offered, e.KnownHosts)
	case len(e.Known) > 0:
		return fmt.Sprintf("host key of %s has CHANGED: the server offers %s but the key on record is %s; "+
			"this can be a man-in-the-middle attack. If the host was legitimately re-keyed, check the new fingerprint "+
			"with its administrator, remove the old entry with `ssh-keygen -R %s -f %s`, then add the new one with `%s`",
			e.Addr, offered, strings.Join(e.Known, ", "), quote(knownhosts.Normalize(e.Addr)), e.KnownHosts, scan)
	default:
		return fmt.Sprintf("host key of %s is unknown: %s is not in %s; check that fingerprint with the host's administrator, then add it with `%s`",
			e.Addr, offered, e.KnownHosts, scan)
	}
}

// hostKeys verifies host keys for one Dial (target and jump host).
type hostKeys struct {
	t        *Transport
	name     string // the plan's host name, for the insecure warning
	path     string // known_hosts file
	insecure bool
	db       gossh.HostKeyCallback
}

// hostKeys reads the known_hosts file path ("" = ~/.ssh/known_hosts). A
// missing file is an empty one: every host is then unknown.
func (t *Transport) hostKeys(name, path string) (*hostKeys, error) {
	k := &hostKeys{t: t, name: name, insecure: t.InsecureIgnoreHostKeys}
	if k.insecure {
		return k, nil
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		path = filepath.Join(home, ".ssh", "known_hosts")
	}
	k.path = expandHome(path)
	db, err := t.knownHosts.get(k.path)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", k.path, err)
	}
	k.db = db
	return k, nil
}

// knownHostsCache holds parsed known_hosts files, shared by the Dials of
// a Transport: each connection keeps its host key callback (to check the
// key again when the server re-keys), and one parsed copy per connection
// grew with hosts × lines. A file is parsed again when its content
// changed.
type knownHostsCache struct {
	mu sync.Mutex
	m  map[string]knownHostsFile
}

type knownHostsFile struct {
	content []byte // nil for a missing file
	db      gossh.HostKeyCallback
}

func (c *knownHostsCache) get(path string) (gossh.HostKeyCallback, error) {
	content, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.m[path]; ok && (f.content == nil) == (content == nil) && bytes.Equal(f.content, content) {
		return f.db, nil
	}
	var db gossh.HostKeyCallback
	if content != nil {
		db, err = knownhosts.New(path)
	}
	if content == nil || errors.Is(err, fs.ErrNotExist) {
		content = nil
		db, err = knownhosts.New()
	}
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]knownHostsFile{}
	}
	c.m[path] = knownHostsFile{content: content, db: db}
	return db, nil
}

// keyCheck is the host key verification of one handshake.
type keyCheck struct {
	callback   gossh.HostKeyCallback
	algorithms []string // host key algorithms to ask for; nil = defaults
	verified   atomic.Bool

	mu  sync.Mutex
	err error
}

func (c *keyCheck) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (k *hostKeys) forAddr(addr string) *keyCheck {
	c := &keyCheck{}
	if k.insecure {
		c.callback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if _, seen := k.t.warned.LoadOrStore(k.name+" "+addr, struct{}{}); !seen {
				k.t.logger().Warn("SSH HOST KEY VERIFICATION IS DISABLED: this connection can be intercepted (man-in-the-middle); accepting any host key",
					"host", k.name, "address", addr, "fingerprint", gossh.FingerprintSHA256(key))
			}
			c.verified.Store(true)
			return nil
		}
		return c
	}
	c.algorithms = k.knownAlgorithms(addr)
	c.callback = func(hostname string, remote net.Addr, key gossh.PublicKey) error {
		err := k.db(hostname, remote, key)
		if err == nil {
			c.verified.Store(true)
			return nil
		}
		herr := &HostKeyError{Addr: addr, KeyType: key.Type(), Fingerprint: gossh.FingerprintSHA256(key), KnownHosts: k.path}
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &revoked):
			herr.Revoked = true
		case errors.As(err, &keyErr):
			for _, w := range keyErr.Want {
				herr.Known = append(herr.Known, fmt.Sprintf("%s:%d %s", w.Filename, w.Line, gossh.FingerprintSHA256(w.Key)))
			}
		default:
			return err
		}
		c.mu.Lock()
		c.err = herr
		c.mu.Unlock()
		return herr
	}
	return c
}

// knownAlgorithms lists the host key algorithms of the keys known for addr,
// so that the server offers a key of a type on record rather than one that
// would look like a changed key. nil when no key is on record.
func (k *hostKeys) knownAlgorithms(addr string) []string {
	var keyErr *knownhosts.KeyError
	err := k.db(addr, &net.TCPAddr{IP: net.IPv4zero}, probeKey{})
	if !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range keyErr.Want {
		types := []string{w.Key.Type()}
		if w.Key.Type() == gossh.KeyAlgoRSA {
			types = []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
		}
		for _, t := range types {
			if !seen[t] {
				seen[t] = true
				algos = append(algos, t)
			}
		}
	}
	return algos
}

// probeKey matches no known key; checking it lists the keys on record.
type probeKey struct{}

func (probeKey) Type() string                          { return "golive-probe" }
func (probeKey) Marshal() []byte                       { return []byte("golive-probe") }
func (probeKey) Verify([]byte, *gossh.Signature) error { return errors.New("probe key") }
