package server

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	mu  sync.Mutex
	gen int64 // bumped by every write through the API
	m   map[string]statusEntry
}

type statusEntry struct {
	at      time.Time
	gen     int64
	updated time.Time
	state   store.State
	body    []byte
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
		}
	}
	c.m[run.ID] = statusEntry{at: now, gen: gen, updated: run.UpdatedAt, state: run.State, body: body}
}

// writeBody writes a JSON body encoded as writeJSON does.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
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
