package engine

import (
	"bytes"
	"context"
	"testing"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// TestRedactedConnSeparateWriters: with two different writers, each of
// stdout and stderr is redacted on its own; with none, nothing is written.
func TestRedactedConnSeparateWriters(t *testing.T) {
	ctx := context.Background()
	conn, err := (&local.Transport{}).Dial(ctx, transport.Host{Name: "h1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc := redactedConn{Conn: conn, r: redact.New("s3kr1t-value")}
	var stdout, stderr bytes.Buffer
	if _, err := rc.Run(ctx, transport.Command{Script: "echo out s3kr1t-value; echo err s3kr1t-value >&2", Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "out ***\n" || stderr.String() != "err ***\n" {
		t.Errorf("stdout %q, stderr %q, want each redacted", stdout.String(), stderr.String())
	}
	if _, err := rc.Run(ctx, transport.Command{Script: "echo s3kr1t-value; echo s3kr1t-value >&2"}); err != nil {
		t.Fatalf("without writers: %v", err)
	}
}
