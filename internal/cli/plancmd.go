package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/ui"
)

func newPlan(e *env) *cobra.Command {
	var f planFlags
	c := &cobra.Command{
		Use:   "plan [FILE] -r VERSION",
		Short: "Show the rollout exactly as it will happen, touching nothing",
		Long: `Plan resolves the targets and prints the rollout: stages, batches (canary
first), hosts, and each host's steps with their rendered commands, health
checks, gates and what backout would run. Secrets are shown as ***.
Nothing on any target is touched.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.release == "" {
				return fmt.Errorf("%w: plan needs the release: -r VERSION", errUsage)
			}
			p, err := e.loadPlan(&f, args)
			if err != nil {
				return err
			}
			secrets, red, err := e.secrets(&f)
			if err != nil {
				return err
			}
			r, err := rollout.Build(rollout.Input{Plan: p, Release: f.release, Env: e.environMap(), Secrets: secrets})
			if err != nil {
				return withCode(ExitUsage, "%s", red.String(err.Error()))
			}
			out := red.Writer(e.stdio.Out)
			defer out.Flush()
			if f.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return ui.RenderRollout(out, r, ui.Style{Colour: e.colour(e.stdio.Out)})
		},
	}
	f.register(c, true)
	c.Flags().BoolVar(&f.json, "json", false, "print the complete rollout as JSON")
	return c
}
