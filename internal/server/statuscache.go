package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// statusTTL is how long an answer of GET /api/v1/runs/{id} is given
// again to the next callers: a status loads the plan and reads the whole
// journal, which many pollers of a big run would otherwise do for every
// call. An answer is never given again once the run's state or update
// time changed or a write went through this server's API; the host
// progress it shows is at most statusTTL old.
var statusTTL = 250 * time.Millisecond

// statusCache keeps the last status answer of each run.
type statusCache struct {
	mu        sync.Mutex
	gen       int64 // bumped by every write through the API
	m         map[string]statusEntry
	computing map[string]*sync.Mutex // held while a run's answer is computed
}

type statusEntry struct {
	at      time.Time
	gen     int64
	updated time.Time
	state   store.State
	body    []byte
}

// answer returns run's status answer: the one kept while it may be given
// again, else the one compute gives, computed once for all the callers
// that ask meanwhile (they wait for it rather than compute it each).
func (c *statusCache) answer(run store.Run, compute func() ([]byte, error)) ([]byte, error) {
	if b, _ := c.get(run); b != nil {
		return b, nil
	}
	c.mu.Lock()
	if c.computing == nil {
		c.computing = map[string]*sync.Mutex{}
	}
	l := c.computing[run.ID]
	if l == nil {
		l = &sync.Mutex{}
		c.computing[run.ID] = l
	}
	c.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	b, gen := c.get(run) // computed by the caller this one waited for
	if b != nil {
		return b, nil
	}
	b, err := compute()
	if err == nil {
		c.put(run, gen, b)
	}
	return b, err
}

// wrote tells the cache that a write went through the API.
func (c *statusCache) wrote() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// get returns the body kept for run, if it may be given again.
func (c *statusCache) get(run store.Run) ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[run.ID]
	if ok && e.gen == c.gen && e.state == run.State && e.updated.Equal(run.UpdatedAt) && time.Since(e.at) < statusTTL {
		return e.body, c.gen
	}
	return nil, c.gen
}

// put keeps body as run's answer, computed at generation gen.
func (c *statusCache) put(run store.Run, gen int64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]statusEntry{}
	}
	now := time.Now()
	for id, e := range c.m {
		if now.Sub(e.at) > time.Minute {
			delete(c.m, id)
			delete(c.computing, id)
		}
	}
	c.m[run.ID] = statusEntry{at: now, gen: gen, updated: run.UpdatedAt, state: run.State, body: body}
}

// writeBody writes a JSON body encoded as writeJSON does.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(body))) // one write, not chunks
	w.WriteHeader(status)
	w.Write(body)
}

// encodeJSON encodes v as writeJSON does.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return b.Bytes()
}
