package cli

import (
	"github.com/spf13/cobra"
)

// notYet registers the commands of the contract that later issues build.
// Each has its flags, and answers "not implemented yet" with exit 2; none
// pretends to work.
func notYet(e *env) []*cobra.Command {
	type spec struct {
		use, short string
		release    bool
		flags      func(c *cobra.Command)
	}
	actOnRun := func(c *cobra.Command) {
		c.Flags().String("as", "", "who is acting")
		c.Flags().String("store", "", "state store")
		c.Flags().StringP("file", "f", "", "plan file (default ./golive.yaml)")
	}
	specs := []spec{
		{"report RUN", "Write a run's release report", false, actOnRun},
		{"serve", "Serve the HTTP API and web UI", false, func(c *cobra.Command) {
			c.Flags().String("listen", "127.0.0.1:8080", "address to listen on")
			c.Flags().String("store", "", "state store")
		}},
	}
	var out []*cobra.Command
	for _, s := range specs {
		c := &cobra.Command{
			Use:   s.use,
			Short: s.short + " (not implemented yet)",
			RunE: func(c *cobra.Command, args []string) error {
				return withCode(ExitUsage, "%s: not implemented yet", c.Name())
			},
		}
		if s.release {
			c.Flags().StringP("release", "r", "", "the release (version)")
			c.Flags().String("env", "", "environment")
			c.Flags().StringArray("set", nil, "override a var: NAME=VALUE")
			c.Flags().StringP("file", "f", "", "plan file (default ./golive.yaml)")
		}
		if s.flags != nil {
			s.flags(c)
		}
		out = append(out, c)
	}
	return out
}
