package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/termsafe"
	"github.com/golive-dev/golive/internal/ui"
)

func newPlan(e *env) *cobra.Command {
	var f planFlags
	var storeFlag string
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
			previous, err := e.previousIfStored(c.Context(), storeFlag, p)
			if err != nil {
				return err
			}
			in := rollout.Input{Plan: p, Release: f.release, Previous: previous, Env: e.environMap(), Secrets: secrets}
			if _, err := rollout.Build(in); err != nil {
				return withCode(ExitUsage, "%s", red.String(err.Error()))
			}
			// What is printed is rendered with every secret as ***: no
			// quoting, escaping or re-indenting can let a value through.
			r, err := rollout.Build(in.ForDisplay())
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
			if e.colour(e.stdio.Out) { // colours: raw, with every value cleaned
				raw := red.Writer(termsafe.Raw(e.stdio.Out))
				defer raw.Flush()
				return ui.RenderRollout(raw, termsafe.Clean(r), ui.Style{Colour: true})
			}
			return ui.RenderRollout(out, r, ui.Style{})
		},
	}
	f.register(c, true)
	c.Flags().BoolVar(&f.json, "json", false, "print the complete rollout as JSON")
	c.Flags().StringVar(&storeFlag, "store", "", "state store to read the previous release from (else $GOLIVE_STORE, else .golive/state.db beside the plan, when it exists)")
	return c
}

// previousIfStored reads the live release from the store when there is
// one; plan never creates a store.
func (e *env) previousIfStored(ctx context.Context, flag string, p *plan.Plan) (string, error) {
	if flag == "" && e.getenv("GOLIVE_STORE") == "" {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p.File), ".golive", "state.db")); err != nil {
			return "", nil
		}
	}
	st, err := e.openStore(ctx, flag, p.File)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.PreviousRelease(ctx, p.Name, p.Env)
}
