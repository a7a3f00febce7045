package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/load"
)

func newValidate(e *env) *cobra.Command {
	var f planFlags
	c := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a plan: every problem as FILE:LINE:COL, exit 2 when invalid",
		Long: `Validate decodes the plan strictly and checks it under every environment it
declares. Every problem is printed as FILE:LINE:COL: message, sorted; any
error makes golive exit 2. Warnings (legal but risky) are printed too and
leave the exit code 0.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			file, err := f.planFile(args)
			if err != nil {
				return err
			}
			set, err := f.setMap()
			if err != nil {
				return err
			}
			res, err := load.Load(load.Options{File: file, Env: f.env, Set: set, AllEnvs: f.env == ""})
			if err != nil {
				return err
			}
			e.printDiags(res.Diags)
			if res.Diags.HasErrors() || res.Plan == nil {
				return withCode(ExitUsage, "%s: %d error(s)", file, len(res.Diags.Errors()))
			}
			p := res.Plan
			fmt.Fprintf(e.stdio.Out, "%s: valid plan %q: %d stage(s), %d target(s), %d warning(s)\n",
				file, p.Name, len(p.Stages), len(p.ResolveTargets()), len(res.Diags.Warnings()))
			return nil
		},
	}
	f.register(c, false)
	return c
}
