package golivetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PieceLen is the length of the pieces of a secret a Leaks looks for.
const PieceLen = 8

// Leaks finds any PieceLen-byte piece of any of a set of secrets in bytes
// golive wrote, and collects where it found them.
type Leaks struct {
	pieces map[string]string // piece -> secret name
	mu     sync.Mutex
	found  []string
	seen   map[string]bool // where, reported once
}

// NewLeaks looks for the pieces of secrets (by name); secrets shorter than
// PieceLen are looked for whole.
func NewLeaks(secrets map[string]string) *Leaks {
	l := &Leaks{pieces: map[string]string{}}
	for name, s := range secrets {
		if len(s) < PieceLen {
			l.pieces[s] = name
			continue
		}
		for i := 0; i+PieceLen <= len(s); i++ {
			l.pieces[s[i:i+PieceLen]] = name
		}
	}
	return l
}

// Check records every place in data (described by where) that holds a
// piece of a secret; it returns whether there was one.
func (l *Leaks) Check(where string, data []byte) bool {
	for i := 0; i+PieceLen <= len(data); i++ {
		if name, ok := l.pieces[string(data[i:i+PieceLen])]; ok {
			lo, hi := max(0, i-40), min(len(data), i+PieceLen+40)
			l.add(where, fmt.Sprintf("%s: a piece of secret %s at byte %d: %q", where, name, i, data[lo:hi]))
			return true
		}
	}
	for piece, name := range l.pieces { // secrets shorter than a piece
		if len(piece) < PieceLen && bytes.Contains(data, []byte(piece)) {
			l.add(where, fmt.Sprintf("%s: secret %s", where, name))
			return true
		}
	}
	return false
}

// CheckFiles checks the files matching each glob.
func (l *Leaks) CheckFiles(globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				l.Check(f, b)
			}
		}
	}
}

func (l *Leaks) add(where, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if !l.seen[where] && len(l.found) < 50 {
		l.seen[where] = true
		l.found = append(l.found, s)
	}
}

// Found returns what was found, one line each.
func (l *Leaks) Found() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.found...)
}

// SampleProcs reads every process's /proc/PID/cmdline, and the
// /proc/PID/environ of every process for which environ(pid) is true, every
// interval until stop is called, checking each for the secrets. It
// returns how many samples were taken.
func (l *Leaks) SampleProcs(interval time.Duration, environ func(pid int) bool) (stop func() int) {
	done, finished := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			n++
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				pid, err := strconv.Atoi(e.Name())
				if err != nil || pid == os.Getpid() {
					continue
				}
				if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil {
					l.Check(fmt.Sprintf("/proc/%d/cmdline (%s)", pid, cmdName(b)), b)
				}
				if environ(pid) {
					if b, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil {
						l.Check(fmt.Sprintf("/proc/%d/environ", pid), b)
					}
				}
			}
			select {
			case <-done:
				finished <- n
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() int { close(done); return <-finished }
}

func cmdName(cmdline []byte) string {
	s := strings.ReplaceAll(string(cmdline), "\x00", " ")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// random returns n characters of URL-safe base64 (no quote, no $).
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// Secrets returns fresh secrets for a leak test, by name: JSON-special
// (JSON), PEM-like and multi-line (PEM), longer than the journal's 4 KiB
// output tail (LONG), one meant for a step's env: (ENVTOK) and one for an
// artifact URL's token (TOKEN). None holds a single quote, so a plan can
// print them from '...' in a script.
func Secrets() map[string]string {
	var pem strings.Builder
	pem.WriteString("-----BEGIN GOLIVE TEST KEY-----\n")
	for range 6 {
		pem.WriteString(random(48) + "\n")
	}
	pem.WriteString("-----END GOLIVE TEST KEY-----")
	return map[string]string{
		"JSON":   `J"&<>\` + random(20) + `\u0026` + random(8),
		"PEM":    pem.String(),
		"LONG":   random(6 << 10),
		"ENVTOK": "env-" + random(24),
		"TOKEN":  "tok" + random(24),
	}
}

// SecretsEnv is secrets as GOLIVE_SECRET_NAME=VALUE entries.
func SecretsEnv(secrets map[string]string) []string {
	var env []string
	for k, v := range secrets {
		env = append(env, "GOLIVE_SECRET_"+k+"="+v)
	}
	return env
}
