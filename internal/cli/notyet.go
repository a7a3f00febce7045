package cli

import (
	"github.com/spf13/cobra"
)

// notYet registers the commands of the contract that later issues build:
// `serve`. It has its flags and answers "not implemented yet" with exit 2;
// it does not pretend to work.
func notYet(e *env) []*cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API and web UI (not implemented yet)",
		RunE: func(c *cobra.Command, args []string) error {
			return withCode(ExitUsage, "%s: not implemented yet", c.Name())
		},
	}
	c.Flags().String("listen", "127.0.0.1:8080", "address to listen on")
	c.Flags().String("store", "", "state store")
	return []*cobra.Command{c}
}
