// Command servebench drives a running `golive serve` for bench/serve.sh:
// it starts one run, watches it with C SSE clients, measures how late
// each journal event reaches each client (receipt time minus the event's
// journal time, for the events journaled once its stream was open), and
// meanwhile hammers GET /api/v1/runs/{id} with W workers. It prints one
// line of figures, with the server's own part of the latency (an event
// durable to its write to a stream) from its /metrics.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:7070", "server")
	token := flag.String("token", "", "API token (deployer)")
	plan := flag.String("plan", "bench", "plan name")
	clients := flag.Int("clients", 200, "SSE clients")
	workers := flag.Int("workers", 4, "GET /api/v1/runs/{id} workers")
	flag.Parse()
	if err := run(*url, *token, *plan, *clients, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func request(method, url, token string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}

func run(url, token, plan string, clients, workers int) error {
	tr := http.DefaultTransport.(*http.Transport)
	tr.MaxIdleConnsPerHost = clients + workers + 4
	tr.ReadBufferSize = 64 << 10 // a stream behind is read in few reads
	resp, err := request("POST", url+"/api/v1/runs", token, map[string]any{"plan": plan, "release": fmt.Sprintf("b%d", time.Now().Unix())})
	if err != nil {
		return err
	}
	var created struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return fmt.Errorf("start: %d %s", resp.StatusCode, created.Error)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var events atomic.Int64
	var wg sync.WaitGroup
	// The run waits at its stage's gate until every client's stream is
	// open: then it is approved, and every client sees the whole run live.
	var opened sync.WaitGroup
	opened.Add(clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine, n, err := watch(url, token, created.ID, opened.Done)
			if err != nil {
				fmt.Fprintln(os.Stderr, "client:", err)
			}
			events.Add(int64(n))
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	if !waitFor(&opened, time.Minute) {
		return fmt.Errorf("the %d streams did not open within a minute", clients)
	}
	resp, err = request("POST", url+"/api/v1/runs/"+created.ID+"/approve", token, map[string]any{"comment": "every client watches"})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("approve: %s", resp.Status)
	}
	start := time.Now()
	stop := make(chan struct{})
	var gets atomic.Int64
	var gwg sync.WaitGroup
	for i := 0; i < workers; i++ {
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := request("GET", url+"/api/v1/runs/"+created.ID, token, nil)
				if err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
					if r.StatusCode == 200 {
						gets.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	gwg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(float64(len(lat)-1)*p)]
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("run=%s took=%s clients=%d events_delivered=%d live_samples=%d latency_p50=%s latency_p99=%s latency_max=%s get_run_per_s=%.0f client_cpu=%.2fs %s\n",
		created.ID, took.Round(time.Millisecond), clients, events.Load(), len(lat), pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond),
		pct(1).Round(time.Millisecond), float64(gets.Load())/took.Seconds(), cpu.Seconds(), serverPart(url))
	return nil
}

// serverPart is the server's own parts of the delivery latency, from
// its /metrics: golive_journal_durable_seconds (an event's journal time to
// its being durable and handed to the streams: the append, append_part),
// golive_sse_delivery_seconds (durable to its write to a stream,
// server_part) and golive_sse_latency_seconds (journal time to the write:
// the latency as the server sees it, server_seen), each p50 and p99
// interpolated within its bucket as Prometheus' histogram_quantile does.
func serverPart(url string) string {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return "server_part=?"
	}
	defer resp.Body.Close()
	type bucket struct {
		le string
		n  float64
	}
	buckets := map[string][]bucket{}
	count := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range []string{"golive_journal_durable_seconds", "golive_sse_delivery_seconds", "golive_sse_latency_seconds"} {
			if rest, ok := strings.CutPrefix(line, m+`_bucket{le="`); ok {
				le, n, _ := strings.Cut(rest, `"} `)
				var v float64
				fmt.Sscan(n, &v)
				buckets[m] = append(buckets[m], bucket{le, v})
			}
			if n, ok := strings.CutPrefix(line, m+"_count "); ok {
				var v float64
				fmt.Sscan(n, &v)
				count[m] = v
			}
		}
	}
	// at is the q-quantile as Prometheus' histogram_quantile gives it:
	// linear within the bucket that holds it.
	at := func(m string, q float64) string {
		lo, below := 0.0, 0.0
		for _, b := range buckets[m] {
			hi, err := strconv.ParseFloat(b.le, 64)
			if err != nil { // +Inf
				return fmt.Sprintf(">%gs", lo)
			}
			if b.n >= q*count[m] {
				if b.n == below {
					return fmt.Sprintf("%.0fms", hi*1000)
				}
				return fmt.Sprintf("%.0fms", (lo+(hi-lo)*(q*count[m]-below)/(b.n-below))*1000)
			}
			lo, below = hi, b.n
		}
		return "?"
	}
	out := ""
	for _, m := range []struct{ metric, name string }{{"golive_journal_durable_seconds", "append_part"}, {"golive_sse_delivery_seconds", "server_part"}, {"golive_sse_latency_seconds", "server_seen"}} {
		if count[m.metric] == 0 {
			out += " " + m.name + "=?"
			continue
		}
		out += fmt.Sprintf(" %s_p50=%s %s_p99=%s", m.name, at(m.metric, 0.5), m.name, at(m.metric, 0.99))
	}
	return strings.TrimSpace(out)
}

// waitFor reports whether wg is done within d.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
