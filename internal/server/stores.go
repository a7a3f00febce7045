package server

import (
	"context"
	"sync"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// storeCache keeps one open store per plan file for the reads of every
// request and stream (opening a store per request would cost more than
// the read); writes open their own, as the CLI does.
type storeCache struct {
	open func(ctx context.Context, planFile string, mode release.StoreMode) (store.Store, error)

	mu sync.Mutex
	m  map[string]store.Store
}

// reader is a shared store whose Close does nothing: the cache closes it.
type reader struct{ store.Store }

func (reader) Close() error { return nil }

func (c *storeCache) openStore(ctx context.Context, planFile string, mode release.StoreMode) (store.Store, error) {
	if !mode.ReadOnly || !mode.Existing {
		return c.open(ctx, planFile, mode)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[planFile]; ok {
		return reader{st}, nil
	}
	st, err := c.open(ctx, planFile, mode)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]store.Store{}
	}
	c.m[planFile] = st
	return reader{st}, nil
}

func (c *storeCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for f, st := range c.m {
		st.Close()
		delete(c.m, f)
	}
}
