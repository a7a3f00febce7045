package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
)

func newValidate(e *env) *cobra.Command {
	var f planFlags
	var strict bool
	c := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a plan: every problem as FILE:LINE:COL, exit 2 when invalid",
		Long: `Validate decodes the plan strictly and checks it under every environment it
declares. Every problem is printed as FILE:LINE:COL: message, sorted; any
error makes golive exit 2. Warnings (legal but risky) are printed too and
leave the exit code 0.

A secrets.X or env.X the plan reads that is not set in this shell (plan,
review and run refuse to start without it) is a warning; --strict makes it
an error. --json prints the problems as JSON on stdout instead.`,
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
			secrets, red, err := e.secrets(&f)
			if err != nil {
				return err
			}
			given := &plan.Given{Env: e.environMap(), Secrets: map[string]bool{}, Strict: strict}
			for name := range secrets {
				given.Secrets[name] = true
			}
			res, err := load.Load(load.Options{File: file, Env: f.env, Set: set, AllEnvs: f.env == "", Given: given})
			if err != nil {
				return err
			}
			invalid := res.Diags.HasErrors() || res.Plan == nil
			if f.json {
				out := red.Writer(e.stdio.Out)
				defer out.Flush()
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(validateJSON(file, res)); err != nil {
					return err
				}
				if invalid {
					return silent(ExitUsage)
				}
				return nil
			}
			e.printDiags(res.Diags)
			if invalid {
				return withCode(ExitUsage, "%s: %d error(s)", file, len(res.Diags.Errors()))
			}
			p := res.Plan
			fmt.Fprintf(e.stdio.Out, "%s: valid plan %q: %d stage(s), %d target(s), %d warning(s)\n",
				file, p.Name, len(p.Stages), len(p.ResolveTargets()), len(res.Diags.Warnings()))
			return nil
		},
	}
	f.register(c, false)
	c.Flags().BoolVar(&f.json, "json", false, "print the problems as JSON: file, line, col, severity, message")
	c.Flags().BoolVar(&strict, "strict", false, "a secret or env.X the plan reads that is not set in this shell is an error, not a warning")
	return c
}

// validateDiag is one problem in validate --json.
type validateDiag struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Severity string `json:"severity"` // error or warning
	Message  string `json:"message"`
}

type validateOut struct {
	File        string         `json:"file"`
	Valid       bool           `json:"valid"`
	Plan        string         `json:"plan,omitempty"`
	Stages      int            `json:"stages"`
	Targets     int            `json:"targets"`
	Errors      int            `json:"errors"`
	Warnings    int            `json:"warnings"`
	Diagnostics []validateDiag `json:"diagnostics"`
}

func validateJSON(file string, res *load.Result) validateOut {
	out := validateOut{File: file, Valid: !res.Diags.HasErrors() && res.Plan != nil,
		Errors: len(res.Diags.Errors()), Warnings: len(res.Diags.Warnings()), Diagnostics: []validateDiag{}}
	if p := res.Plan; p != nil {
		out.Plan, out.Stages, out.Targets = p.Name, len(p.Stages), len(p.ResolveTargets())
	}
	for _, d := range res.Diags {
		sev := "error"
		if d.Warning {
			sev = "warning"
		}
		out.Diagnostics = append(out.Diagnostics, validateDiag{File: d.File, Line: d.Pos.Line, Col: d.Pos.Col, Severity: sev, Message: d.Msg})
	}
	return out
}
