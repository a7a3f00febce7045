package transport_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
)

func TestCommandValidate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"none", nil, true},
		{"golive names", map[string]string{"GOLIVE_RELEASE": "1", "_x9": ""}, true},
		{"empty name", map[string]string{"": "x"}, false},
		{"equals sign", map[string]string{"A=B": "x"}, false},
		{"leading digit", map[string]string{"9A": "x"}, false},
		{"dash", map[string]string{"A-B": "x"}, false},
		{"non-ascii", map[string]string{"ÄB": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := transport.Command{Script: "true", Env: tt.env}.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestUploadValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		u    transport.Upload
		want string // "" = valid
	}{
		{"valid", transport.Upload{Src: "a", SHA256: sum, To: "b", Mode: 0o755}, ""},
		{"upper-case sha", transport.Upload{Src: "a", SHA256: strings.ToUpper(sum), To: "b"}, ""},
		{"no src", transport.Upload{SHA256: sum, To: "b"}, "empty source"},
		{"no to", transport.Upload{Src: "a", SHA256: sum}, "empty destination"},
		{"short sha", transport.Upload{Src: "a", SHA256: sum[1:], To: "b"}, "64 hex digits"},
		{"non-hex sha", transport.Upload{Src: "a", SHA256: strings.Repeat("zz", 32), To: "b"}, "64 hex digits"},
		{"directory mode", transport.Upload{Src: "a", SHA256: sum, To: "b", Mode: os.ModeDir | 0o755}, "bits other than permissions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.u.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestUploadFileMode(t *testing.T) {
	if m := (transport.Upload{}).FileMode(); m != 0o644 {
		t.Errorf("default mode = %v, want 0644", m)
	}
	if m := (transport.Upload{Mode: 0o700}).FileMode(); m != 0o700 {
		t.Errorf("mode = %v, want 0700", m)
	}
}

func TestContextError(t *testing.T) {
	if err := transport.ContextError(context.Background()); err != nil {
		t.Errorf("live context: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := transport.ContextError(ctx); err != context.Canceled {
		t.Errorf("plain cancel: %v, want context.Canceled itself", err)
	}
	cause := errors.New("window closed")
	ctx, cancel2 := context.WithCancelCause(context.Background())
	cancel2(cause)
	err := transport.ContextError(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("cancel with cause: %v, want both wrapped", err)
	}
	if err.Error() != "context canceled: window closed" {
		t.Errorf("message = %q", err.Error())
	}
}
