package local_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, transporttest.Harness{
		Dial: func(t *testing.T, tg transporttest.Target) transport.Conn {
			return dial(t, &local.Transport{Grace: tg.Grace}, tg.Dir)
		},
		ErrorPrefix: "local test: ",
		// Nothing but the copy buffer: neither the heap nor the
		// allocations may hold the file.
		UploadHeapLimit:  8 << 20,
		UploadAllocLimit: 8 << 20,
	})
}
