package main

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(1 << 40)
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Errorf("limit without GOMEMLIMIT = %d, want %d", got, memoryLimit)
	}

	// GOMEMLIMIT set: the runtime's own (here, whatever it is) stays.
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("limit with GOMEMLIMIT = %d, want it left at %d", got, 1<<30)
	}
}
