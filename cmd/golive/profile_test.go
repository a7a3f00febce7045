package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GOLIVE_CPUPROFILE and GOLIVE_TRACE each get a file once the profiles
// stop; a path that cannot be created is reported and left out.
func TestStartProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, tr := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "trace.out")
	t.Setenv("GOLIVE_CPUPROFILE", cpu)
	t.Setenv("GOLIVE_TRACE", tr)
	stop := startProfiles()
	for i := 0; i < 1e6; i++ {
		_ = strings.Repeat("x", i%7)
	}
	stop()
	for _, p := range []string{cpu, tr} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (want a non-empty profile)", p, err)
		}
	}

	t.Setenv("GOLIVE_CPUPROFILE", filepath.Join(dir, "missing", "cpu.prof"))
	t.Setenv("GOLIVE_TRACE", "")
	stop = startProfiles() // reported on stderr, nothing started
	stop()
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("a directory was created for the profile")
	}
}
