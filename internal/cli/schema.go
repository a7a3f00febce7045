package cli

import (
	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/plan"
)

func newSchema(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of the plan format",
		Long: `Schema prints the JSON Schema of plan format 1. Point your editor at it:
  golive schema > golive.schema.json
and put "# yaml-language-server: $schema=./golive.schema.json" at the top of
golive.yaml (see docs/plan-reference.md, "Editor support").`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			out, err := plan.Schema()
			if err != nil {
				return err
			}
			_, err = e.stdio.Out.Write(append(out, '\n'))
			return err
		},
	}
}
