package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// heapProfileAtPeak writes a heap profile to path each time the heap in use
// reaches a new high (checked every 500ms): GOLIVE_HEAPPROFILE=FILE shows
// what the controller's peak memory holds (go tool pprof FILE).
func heapProfileAtPeak(path string) {
	var peak uint64
	for range time.Tick(500 * time.Millisecond) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse <= peak+peak/20 {
			continue
		}
		peak = m.HeapInuse
		f, err := os.Create(path + ".tmp")
		if err != nil {
			return
		}
		if pprof.Lookup("heap").WriteTo(f, 0) == nil && f.Close() == nil {
			os.Rename(path+".tmp", path)
		}
	}
}
