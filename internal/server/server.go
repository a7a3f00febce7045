// Package server is `golive serve`: the release core (internal/release)
// as an HTTP API for a team. Plans are known by name; API tokens (only
// their sha256 kept) carry roles; every write acts as the token's name and
// is journaled with it and the remote address; runs started here execute
// in this process and are watched live over server-sent events.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// Config is how `golive serve` was started.
type Config struct {
	Addr         string   // host:port to listen on
	Paths        []string // plan files and directories
	Tokens       *Tokens  // nil: read-only, loopback only
	TLSCert      string
	TLSKey       string
	InsecureHTTP bool // serve plain HTTP on a non-loopback address
	Logger       *slog.Logger
	// Service is the release core the server calls; its Observer is
	// replaced by the server's.
	Service *release.Service
	// Report builds a run's release report (nil: none).
	Report Reporter
	// Ready is told the address the server listens on.
	Ready func(addr string)
	// WaitingEvery is how often waiting runs are checked, to start those
	// whose window opened and approvals arrived (default 5s).
	WaitingEvery time.Duration
	// DrainTimeout bounds how long a stop waits for runs to reach a
	// journal point (default 30s).
	DrainTimeout time.Duration
}

// Server is a running `golive serve`.
type Server struct {
	cfg  Config
	log  *slog.Logger
	svc  *release.Service
	http *http.Server

	mu    sync.RWMutex
	plans map[string]*Plan

	runs    *runner
	hub     *hub
	metrics *metrics

	sessions   sessions          // browser sessions, in the server's store
	state      store.ServerStore // the server's store (state.go)
	stateStore store.Store
	refusals   refusalLimit // refusals recorded a minute
	stores     *storeCache
	taken      takeovers       // runs taken over from executors whose lease expired (takeover.go)
	statuses   statusCache     // answers of GET /api/v1/runs/{id}
	ctx        context.Context // ends when the server stops serving (SSE streams)
	close      context.CancelFunc

	// The web UI's memory (ui.go): the review of each run started here,
	// and the rollouts of the runs whose pages are watched.
	uiReviews  reviews
	uiRollouts rollouts
}

// Loopback reports whether addr's host is a loopback address (or
// localhost).
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New checks the configuration and finds the plans.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.WaitingEvery <= 0 {
		cfg.WaitingEvery = 5 * time.Second
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("--addr %q: want HOST:PORT", cfg.Addr)
	}
	tlsOn := cfg.TLSCert != "" || cfg.TLSKey != ""
	if tlsOn && (cfg.TLSCert == "" || cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if !Loopback(cfg.Addr) {
		if !tlsOn && !cfg.InsecureHTTP {
			return nil, fmt.Errorf("--addr %s is not a loopback address: give --tls-cert and --tls-key, or --insecure-http to serve tokens in clear text", cfg.Addr)
		}
		if cfg.Tokens == nil {
			return nil, fmt.Errorf("--addr %s is not a loopback address: give --tokens (without tokens the server is read-only, on loopback only)", cfg.Addr)
		}
	}
	plans, err := Discover(cfg.Paths)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, svc: cfg.Service, plans: plans}
	s.ctx, s.close = context.WithCancel(context.Background())
	s.metrics = newMetrics()
	s.taken.register(s.metrics.reg)
	s.runs = newRunner(s)
	s.hub = newHub(s)
	s.svc.Observer = s.runs
	s.stores = &storeCache{open: s.svc.OpenStore}
	s.svc.OpenStore = s.stores.openStore
	if cfg.Tokens != nil { // read-only, the server needs no store of its own
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.openState(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Plans are the known plans, sorted by name.
func (s *Server) Plans() []*Plan {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Plan, 0, len(s.plans))
	for _, p := range s.plans {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// plan is the plan named name (nil: unknown).
func (s *Server) plan(name string) *Plan {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.plans[name]
}

// Rescan finds the plans again (SIGHUP). On an error the plans known
// stay as they were.
func (s *Server) Rescan() error {
	plans, err := Discover(s.cfg.Paths)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.plans = plans
	s.mu.Unlock()
	s.log.Info("plans rescanned", "plans", len(plans))
	return nil
}

// Serve listens and serves until ctx ends, then stops (see Stop).
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.http = &http.Server{Handler: s.counted(s.routes()), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	go s.hub.watchRuns(s.ctx)
	if s.state != nil {
		go s.tidyState(s.ctx)
	}
	go s.startWaiting(s.ctx, s.cfg.WaitingEvery)
	go s.watchLeases(s.ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	if s.cfg.Ready != nil {
		s.cfg.Ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		s.close()
		return err
	case <-ctx.Done():
	}
	s.Stop()
	return nil
}

// Stop stops accepting requests, ends the live streams, and lets every
// run executing here reach its next journal point; those still running
// are left paused, holding their lock, for the next server or `golive
// resume` to continue. No run is left `running` without a controller.
func (s *Server) Stop() {
	s.log.Info("stopping: no new requests; runs stop at their next journal point")
	s.runs.drain()
	s.close() // SSE streams end
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.http.Shutdown(sctx)
	s.runs.park(s.cfg.DrainTimeout)
	s.stores.close()
	if s.stateStore != nil {
		s.stateStore.Close()
	}
}
