// Command golive executes deployment plans. See README.md.
package main

import (
	"os"
	"runtime/debug"

	"github.com/golive-dev/golive/internal/cli"
)

// memoryLimit is golive's soft memory limit unless GOMEMLIMIT sets one: the
// heap a release to 1,000 hosts keeps live is ~60 MB, but with the
// default GOGC alone the runtime lets the process grow to ~250 MB before
// collecting. Over the limit the collector runs more often; it is soft, so
// a run that needs more still gets it. The process's RSS is what the
// runtime holds plus ~18 MiB it does not count (the binary's mapped code
// and data): 128 MiB gave a 1,000-host release a peak RSS of 145-147 MiB
// (152-154 MB); 112 MiB keeps it under 150 MB.
const memoryLimit = 112 << 20

// setMemoryLimit applies memoryLimit when the environment sets no limit.
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

func main() {
	setMemoryLimit()
	if p := os.Getenv("GOLIVE_HEAPPROFILE"); p != "" {
		go heapProfileAtPeak(p)
	}
	stop := startProfiles()
	code := cli.Run(os.Args[1:])
	stop()
	os.Exit(code)
}
