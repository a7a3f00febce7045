package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/golive-dev/golive/internal/values"
)

// valueFlags are the flags that carry values given at run time, and the
// rule each must follow. checkValues applies them to every command that
// has such a flag, before the command does anything: a new command gets
// the checks by naming its flag like the others.
var valueFlags = map[string]func(input, s string) error{
	"release": values.Version,
	"ticket":  values.Ticket,
	"env":     values.Name,
	"as":      values.Actor,
	"reason":  freeText,
	"comment": freeText,
	"gate":    values.NoControl,
	"set":     override,
}

// freeText is a reason or a comment: carried as it is, never interpreted.
func freeText(input, s string) error { return values.Text(input, s, values.MaxText) }

// override is one --set NAME=VALUE: the name as the plan writes var names,
// the value any text (the plan's settable pattern, if any, is applied
// when the plan is loaded).
func override(input, kv string) error {
	name, value, ok := strings.Cut(kv, "=")
	if !ok || name == "" {
		return fmt.Errorf("%s %s: want NAME=VALUE", input, values.Quote(kv))
	}
	if err := values.NoControl(input+" name", name); err != nil {
		return err
	}
	return values.Text(input+" "+name, value, values.MaxOverride)
}

// checkValues checks the run-time values given to c on its command line
// and in $GOLIVE_USER. A bad one is a usage error (exit 2) naming the
// input and the offending character; nothing has been opened or recorded
// yet.
func (e *env) checkValues(c *cobra.Command) error {
	var problems []error
	c.Flags().Visit(func(f *pflag.Flag) {
		check, ok := valueFlags[f.Name]
		if !ok {
			return
		}
		input := "--" + f.Name
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			for _, s := range sv.GetSlice() {
				if err := check(input, s); err != nil {
					problems = append(problems, err)
				}
			}
			return
		}
		if err := check(input, f.Value.String()); err != nil {
			problems = append(problems, err)
		}
	})
	if as := c.Flags().Lookup("as"); as != nil && !as.Changed {
		if u := e.getenv("GOLIVE_USER"); u != "" {
			if err := values.Actor("$GOLIVE_USER", u); err != nil {
				problems = append(problems, err)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", errUsage, errors.Join(problems...))
}
