package server

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/golive-dev/golive/internal/store"
)

// metrics are what GET /metrics exposes, in the Prometheus text format,
// about the runs executed in this server and its API.
type metrics struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec   // runs ended, by plan, env, outcome (terminal state)
	runSeconds  *prometheus.HistogramVec // run duration, by plan and outcome
	stepSeconds *prometheus.HistogramVec // step duration, by plan and outcome
	active      prometheus.Gauge         // runs executed here now
	hosts       *prometheus.CounterVec   // hosts failed, backed out, by plan
	requests    *prometheus.CounterVec   // API requests by method and code
	subscribers prometheus.Gauge         // SSE subscribers
	hooks       *prometheus.CounterVec   // webhook deliveries by result
	delivery    prometheus.Histogram     // pushed event durable -> written to a stream
	durable     prometheus.Histogram     // pushed event's journal time -> durable, handed to the streams
	latency     prometheus.Histogram     // pushed event's journal time -> written to a stream

	mu      sync.Mutex
	started map[string]startedRun // by run id, to time the run
}

type startedRun struct {
	plan, env string
	at        float64
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), started: map[string]startedRun{}}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golive_runs_total", Help: "Runs executed by this server that ended, by plan, environment and outcome."}, []string{"plan", "env", "outcome"})
	m.runSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "golive_run_duration_seconds", Help: "Duration of the runs executed here, from their start to their end.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"plan", "outcome"})
	m.stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "golive_step_duration_seconds", Help: "Duration of the steps of the runs executed here.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"plan", "outcome"})
	m.active = prometheus.NewGauge(prometheus.GaugeOpts{Name: "golive_active_runs", Help: "Runs being executed by this server."})
	m.hosts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golive_hosts_total", Help: "Hosts that failed or were backed out in the runs executed here, by plan."}, []string{"plan", "result"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golive_api_requests_total", Help: "API requests by method and status code."}, []string{"method", "code"})
	m.subscribers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "golive_sse_subscribers", Help: "Live streams (server-sent events) open now."})
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golive_webhook_deliveries_total", Help: "Webhook deliveries by result: started, ignored, bad_signature, replayed, refused, no_hook."}, []string{"result"})
	m.delivery = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "golive_sse_delivery_seconds",
		Help:    "From a journal event of a run executed here being durable to its write to a live stream, per stream (the server's part of the delivery latency).",
		Buckets: latencyBuckets})
	m.durable = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "golive_journal_durable_seconds",
		Help:    "From a journal event's time (taken before its append) of a run executed here to its being durable and handed to the live streams (the journal's part of the delivery latency: the append, group commit and fsync).",
		Buckets: latencyBuckets})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "golive_sse_latency_seconds",
		Help:    "From a journal event's time (taken before its append) of a run executed here to its write to a live stream, per stream: the delivery latency as the server sees it (a client adds its own wait to read it).",
		Buckets: latencyBuckets})
	m.reg.MustRegister(m.hooks, m.runs, m.runSeconds, m.stepSeconds, m.active, m.hosts, m.requests, m.subscribers, m.delivery, m.durable, m.latency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// latencyBuckets are the bounds of the delivery latency histograms, fine
// around the 100 ms a live stream aims at.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .2, .25, .3, .4, .5, .75, 1, 2.5, 5}

// observe counts one journal event of a run of plan in env executed here.
func (m *metrics) observe(plan, env string, ev store.Event) {
	switch ev.Kind {
	case store.KindState:
		st := store.State(ev.Action)
		m.mu.Lock()
		defer m.mu.Unlock()
		if st == store.StateRunning {
			if _, ok := m.started[ev.RunID]; !ok {
				m.started[ev.RunID] = startedRun{plan: plan, env: env, at: float64(ev.Time.UnixNano()) / 1e9}
			}
		}
		if st.Terminal() {
			m.runs.WithLabelValues(plan, env, string(st)).Inc()
			if s, ok := m.started[ev.RunID]; ok {
				m.runSeconds.WithLabelValues(plan, string(st)).Observe(float64(ev.Time.UnixNano())/1e9 - s.at)
				delete(m.started, ev.RunID)
			}
		}
	case store.KindStep:
		if ev.Duration > 0 && ev.Action != store.ActionStarted {
			m.stepSeconds.WithLabelValues(plan, string(ev.Action)).Observe(ev.Duration.Seconds())
		}
	case store.KindHost:
		switch ev.Action {
		case store.ActionFailed, store.ActionBackedOut, store.ActionBackoutFailed:
			m.hosts.WithLabelValues(plan, string(ev.Action)).Inc()
		}
	}
}

// handler serves /metrics: without a token on loopback, else a viewer's.
func (s *Server) metricsHandler() http.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Tokens != nil && !Loopback(s.cfg.Addr) {
			if err := s.authenticate(r, &caller{remote: r.RemoteAddr}, permRead); err != nil {
				writeErr(w, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	}
}

// counted counts the answers of h by method and status code.
func (s *Server) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(cw, r)
		s.metrics.requests.WithLabelValues(r.Method, strconv.Itoa(cw.code)).Inc()
	})
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (c *codeWriter) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController flush the stream.
func (c *codeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
