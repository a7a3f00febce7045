package main

import (
	"os"
	"runtime/pprof"
)

// cpuProfile profiles the whole process into path (GOLIVE_CPUPROFILE=FILE,
// go tool pprof FILE; e.g. `golive serve` under bench/serve.sh) and
// returns the function that stops and writes it.
func cpuProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
