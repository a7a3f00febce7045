package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// FleetHost is one host of a Fleet: its exporter's targets carry the
// labels host (the name) and addr (the address).
type FleetHost struct{ Name, Address string }

// ErrorRate says, for a host, which fraction of its requests fail now,
// and whether its exporter answers at all (false: it exports nothing, so
// Prometheus has no data for the host).
type ErrorRate func(host string) (rate float64, exporting bool)

// Fleet is a real Prometheus scraping one exporter per host, each on its
// own loopback port, every second. Each exporter counts requests
// (golive_test_requests_total, 100 every 100ms) and errors
// (golive_test_errors_total, rate × the requests) as a host's service
// would.
type Fleet struct {
	URL string
}

// StartFleet runs the exporters and Prometheus for the test, or skips it
// when Prometheus is not installed. It returns once Prometheus has
// scraped every exporter once.
func StartFleet(t testing.TB, hosts []FleetHost, rate ErrorRate) *Fleet {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("prometheus is not installed (%s): run ./scripts/test, which installs Debian's prometheus package", Binary)
	}
	var cfg strings.Builder
	cfg.WriteString("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: golive\n    static_configs:\n")
	var mu sync.Mutex // guards the counters' updates against the handlers
	type exporter struct {
		name           string
		reg            *prometheus.Registry
		requests, errs prometheus.Counter
	}
	var exps []*exporter
	for _, h := range hosts {
		e := &exporter{name: h.Name, reg: prometheus.NewRegistry(),
			requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "golive_test_requests_total", Help: "requests served"}),
			errs:     prometheus.NewCounter(prometheus.CounterOpts{Name: "golive_test_errors_total", Help: "requests failed"})}
		e.reg.MustRegister(e.requests, e.errs)
		exps = append(exps, e)
		metrics := promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := rate(e.name); !ok {
				w.WriteHeader(http.StatusOK) // up, but nothing to say
				return
			}
			mu.Lock()
			defer mu.Unlock()
			metrics.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		labels, _ := json.Marshal(map[string]string{"host": h.Name, "addr": h.Address})
		fmt.Fprintf(&cfg, "      - {targets: ['%s'], labels: %s}\n", strings.TrimPrefix(srv.URL, "http://"), labels)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the hosts' traffic
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			mu.Lock()
			for _, e := range exps {
				if r, ok := rate(e.name); ok {
					e.requests.Add(100)
					e.errs.Add(100 * r)
				}
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { stop(); wg.Wait() })
	f := &Fleet{URL: runPrometheus(t, cfg.String())}
	if err := f.WaitFor(`count(up == 1) == `+fmt.Sprint(len(hosts)), 30*time.Second); err != nil {
		t.Fatalf("prometheus did not scrape the fleet's exporters: %v", err)
	}
	return f
}

// runPrometheus starts Prometheus with a configuration and returns its
// address.
func runPrometheus(t testing.TB, cfg string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, Binary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// WaitFor waits until an instant query returns a non-empty result.
func (f *Fleet) WaitFor(query string, within time.Duration) error {
	deadline := time.Now().Add(within)
	last := fmt.Errorf("no answer")
	for time.Now().Before(deadline) {
		resp, err := http.Get(f.URL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var body struct {
				Data struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && len(body.Data.Result) > 0 {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("%s: no data yet", query)
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return last
}
