// Package promtest runs a real Prometheus server (Debian's prometheus
// package) for tests, scraping an exporter the test controls, so that
// monitors are tested against the real query API.
package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Binary is where Debian installs Prometheus.
const Binary = "/usr/bin/prometheus"

// Server is a Prometheus server scraping one exporter every second.
type Server struct {
	URL   string           // the Prometheus server
	Gauge prometheus.Gauge // golive_test_value, exported to it
}

// Start runs Prometheus for the test, or skips the test with how to get
// it. It returns once the exporter has been scraped.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("prometheus is not installed (%s): run ./scripts/test, which installs Debian's prometheus package", Binary)
	}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "golive_test_value", Help: "a value the test sets"})
	reg.MustRegister(g)
	exporter := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(exporter.Close)

	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: golive\n    static_configs: [{targets: ['%s']}]\n",
		strings.TrimPrefix(exporter.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, Binary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", port),
		"--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Gauge: g}
	if err := s.waitScraped(30 * time.Second); err != nil {
		t.Fatalf("prometheus did not scrape the exporter: %v\n%s", err, logs.String())
	}
	return s
}

// waitScraped waits until a query for the gauge returns data.
func (s *Server) waitScraped(within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/api/v1/query?query=golive_test_value")
		if err == nil {
			var body strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			body.Write(buf[:n])
			resp.Body.Close()
			if strings.Contains(body.String(), `"result":[{`) {
				return nil
			}
			last = fmt.Errorf("no data yet: %s", body.String())
		} else {
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
