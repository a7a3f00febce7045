package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts the profiles the environment asks for and returns
// the function that ends them (before golive exits):
// GOLIVE_CPUPROFILE=FILE, a CPU profile of the whole process (go tool
// pprof FILE); GOLIVE_TRACE=FILE, an execution trace (go tool trace FILE):
// where a release's time goes, goroutine by goroutine. A profile that
// cannot be started is reported on stderr and left out.
func startProfiles() (stop func()) {
	var stops []func()
	if p := os.Getenv("GOLIVE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err != nil {
			fmt.Fprintf(os.Stderr, "golive: GOLIVE_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "golive: GOLIVE_CPUPROFILE: %v\n", err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("GOLIVE_TRACE"); p != "" {
		if f, err := os.Create(p); err != nil {
			fmt.Fprintf(os.Stderr, "golive: GOLIVE_TRACE: %v\n", err)
		} else if err := trace.Start(f); err != nil {
			fmt.Fprintf(os.Stderr, "golive: GOLIVE_TRACE: %v\n", err)
			f.Close()
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
