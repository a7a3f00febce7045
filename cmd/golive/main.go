// Command golive executes deployment plans. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/golive-dev/golive/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
