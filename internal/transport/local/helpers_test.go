package local_test

import (
	"context"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

func dial(t testing.TB, tr *local.Transport, dir string) transport.Conn {
	t.Helper()
	c, err := tr.Dial(context.Background(), transport.Host{Name: "test", Dir: dir})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
