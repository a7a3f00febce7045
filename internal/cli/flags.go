package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/secrets"
	"github.com/golive-dev/golive/internal/termsafe"
)

// planFlags are the flags of commands that read a plan.
type planFlags struct {
	file        string
	release     string
	env         string
	set         []string
	ticket      string
	json        bool
	secretsFile string
}

func (f *planFlags) register(c *cobra.Command, release bool) {
	c.Flags().StringVarP(&f.file, "file", "f", "", "plan file (default ./golive.yaml)")
	c.Flags().StringVar(&f.env, "env", "", "environment to apply (required when the plan declares environments)")
	c.Flags().StringArrayVar(&f.set, "set", nil, "override a var: NAME=VALUE (repeatable)")
	c.Flags().StringVar(&f.secretsFile, "secrets-file", "", "file of NAME=VALUE lines for ${{ secrets.NAME }} (else GOLIVE_SECRET_NAME)")
	if release {
		c.Flags().StringVarP(&f.release, "release", "r", "", "the release (version) to roll out")
	}
}

// planFile picks the plan file from -f or the one positional argument.
func (f *planFlags) planFile(args []string) (string, error) {
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("%w: give one plan file, got %d arguments", errUsage, len(args))
	case len(args) == 1 && f.file != "" && args[0] != f.file:
		return "", fmt.Errorf("%w: plan file given twice (%s and -f %s)", errUsage, args[0], f.file)
	case len(args) == 1:
		return args[0], nil
	case f.file != "":
		return f.file, nil
	}
	return load.DefaultFile, nil
}

func (f *planFlags) setMap() (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range f.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: --set %q: want NAME=VALUE", errUsage, kv)
		}
		out[k] = v
	}
	return out, nil
}

// loadPlan loads the plan for a command that acts on one environment,
// printing its problems. Warnings are printed and do not stop it.
func (e *env) loadPlan(f *planFlags, args []string) (*plan.Plan, error) {
	file, err := f.planFile(args)
	if err != nil {
		return nil, err
	}
	set, err := f.setMap()
	if err != nil {
		return nil, err
	}
	res, err := load.Load(load.Options{File: file, Env: f.env, Set: set})
	if err != nil {
		return nil, err
	}
	e.printDiags(res.Diags)
	if res.Diags.HasErrors() || res.Plan == nil {
		return nil, silent(ExitUsage)
	}
	return res.Plan, nil
}

func (e *env) printDiags(ds plan.Diags) {
	for _, d := range ds {
		fmt.Fprintln(e.stdio.Err, d.String())
	}
}

// secrets returns the secrets and a redactor that hides them.
func (e *env) secrets(f *planFlags) (map[string]string, *redact.Redactor, error) {
	s, err := secrets.Load(e.environ, f.secretsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", errUsage, err)
	}
	if w := secrets.FileWarning(f.secretsFile); w != "" {
		fmt.Fprintf(e.stdio.Err, "golive: warning: %s\n", w)
	}
	r := e.red
	if r == nil {
		r = redact.New()
	}
	for _, v := range s {
		r.Add(v)
		r.Add(plan.ShellQuote(v)) // ${{ shell(secrets.X) }}: a quote in it is written '\''
	}
	return s, r, nil
}

func (e *env) environMap() map[string]string {
	out := map[string]string{}
	for _, kv := range e.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, secrets.EnvPrefix) {
			out[k] = v
		}
	}
	return out
}

// colour reports whether output to w may use colour: a terminal, and
// NO_COLOR unset.
func (e *env) colour(w any) bool {
	f, ok := terminalFile(w)
	return ok && term.IsTerminal(int(f.Fd())) && e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb"
}

// terminalFile is the file under w (the terminal writers redact on their
// way to it), if there is one.
func terminalFile(w any) (*os.File, bool) {
	for {
		w = termsafe.Unwrap(w)
		switch x := w.(type) {
		case *os.File:
			return x, true
		case interface{ Unwrap() io.Writer }:
			w = x.Unwrap()
		default:
			return nil, false
		}
	}
}
