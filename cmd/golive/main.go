// Command golive executes deployment plans. See README.md.
package main

import (
	"os"

	"github.com/golive-dev/golive/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:]))
}
