// Command demo is the tiny web server that the golive quickstart deploys.
//
// It serves GET / (an HTML page naming its version) and GET /health, which
// answers 200 and "ok VERSION". The version comes from -version, else from a
// VERSION file beside the binary. A release built with `build.sh --broken`
// answers /health with 500, so that golive's health check fails and the
// release is backed out.
//
// It stops cleanly on SIGTERM or SIGINT: it stops accepting connections,
// lets requests in flight finish (for at most five seconds) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// broken is set at build time (-ldflags "-X main.broken=true") for a release
// whose health check fails.
var broken = "false"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	version := flag.String("version", "", "version to report (default: the VERSION file beside the binary)")
	flag.Parse()
	log.SetPrefix("demo: ")

	v := *version
	if v == "" {
		v = versionFile()
	}
	if v == "" {
		v = "unknown"
	}

	srv := &http.Server{
		Addr:              *addr,
		Handler:           handler(v, broken == "true"),
		ReadHeaderTimeout: 5 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("version %s listening on %s (pid %d)", v, *addr, os.Getpid())

	select {
	case err := <-errc:
		// Could not listen (address in use, ...).
		log.Fatal(err)
	case <-ctx.Done():
	}
	log.Printf("stopping")
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		log.Printf("shutdown: %v", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("stopped")
}

// versionFile reads the VERSION file in the binary's directory.
func versionFile() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func handler(version string, broken bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if broken {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "broken %s\n", version)
			return
		}
		fmt.Fprintf(w, "ok %s\n", version)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		v := html.EscapeString(version)
		fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>golive demo %s</title></head>
<body><h1>golive demo</h1><p>This is version <strong>%s</strong>.</p></body></html>
`, v, v)
	})
	return mux
}
