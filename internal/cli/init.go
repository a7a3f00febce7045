package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/values"
)

func newInit(e *env) *cobra.Command {
	var file, inventory, recipe string
	c := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented, valid plan to start from (never overwrites one)",
		Long: `Init writes a plan (default ./golive.yaml) that validates and runs as it is:
by default one "host" that is a directory on this machine (hosts/local), and a
step that records the release there. --inventory FILE targets the hosts of an
Ansible-style inventory over ssh instead. --recipe release-dir lays releases
out Capistrano-style (releases/VERSION, an atomic current link, the last 5
kept) from an artifact in dist/; --recipe systemd does that and then restarts
a systemd unit. Every line that needs your attention says so. Init refuses to
overwrite an existing file.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f := planFlags{file: file}
			path, err := f.planFile(args)
			if err != nil {
				return err
			}
			switch recipe {
			case "", "release-dir", "systemd":
			default:
				return fmt.Errorf("%w: --recipe %s: golive has release-dir and systemd", errUsage, values.Quote(recipe))
			}
			return e.writeInit(path, inventory, recipe)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "plan file to write (default ./golive.yaml)")
	c.Flags().StringVar(&inventory, "inventory", "", "an Ansible-style inventory (INI or YAML) whose hosts the plan targets over ssh")
	c.Flags().StringVar(&recipe, "recipe", "", "release-dir (releases/VERSION + current link) or systemd (release-dir, then restart a unit)")
	return c
}

// writeInit writes the scaffold to path, after checking that it loads
// without errors: a scaffold that does not validate is a bug, and is
// never left behind.
func (e *env) writeInit(path, inventory, recipe string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s exists: golive init never overwrites a plan (remove it or give another file)", errUsage, path)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: %s: no such directory", errUsage, dir)
	}
	invRef := ""
	if inventory != "" {
		if err := values.NoControl("--inventory", inventory); err != nil {
			return fmt.Errorf("%w: %s", errUsage, err)
		}
		if st, err := os.Stat(inventory); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%w: --inventory %s: no such file", errUsage, inventory)
		}
		invRef = inventory
		if !filepath.IsAbs(inventory) {
			absInv, err1 := filepath.Abs(inventory)
			absDir, err2 := filepath.Abs(dir)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("%w: --inventory %s: %v", errUsage, inventory, errors.Join(err1, err2))
			}
			if rel, err := filepath.Rel(absDir, absInv); err == nil {
				invRef = filepath.ToSlash(rel)
			}
		}
	}
	text := scaffold(planNameFor(dir), invRef, recipe)
	tmp, err := os.CreateTemp(dir, ".golive-init-*.yaml")
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("init: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	res, err := load.Load(load.Options{File: tmp.Name(), AllEnvs: true})
	if err != nil {
		return err
	}
	if res.Diags.HasErrors() || res.Plan == nil {
		e.printDiags(res.Diags)
		return withCode(ExitUsage, "init: the plan it would write does not validate (the inventory?); nothing written")
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	// A hard link creates path only if nothing is there: never overwrites.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s exists: golive init never overwrites a plan", errUsage, path)
		}
		return fmt.Errorf("init: %w", err)
	}
	out := e.stdio.Out
	fmt.Fprintf(out, "wrote %s: plan %q, valid\n", path, res.Plan.Name)
	fmt.Fprintf(out, "next: edit the lines marked TODO, then\n")
	fmt.Fprintf(out, "  golive plan -f %s -r 0.1.0    # what a release would do; changes nothing\n", path)
	fmt.Fprintf(out, "  golive run -f %s -r 0.1.0     # do it\n", path)
	return nil
}

// planNameFor names the plan after its directory when that name fits
// the name rule, else "app".
func planNameFor(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "app"
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, filepath.Base(abs))
	name = strings.Trim(name, "-._")
	if len(name) > 40 || !values.IsName(name) {
		return "app"
	}
	return name
}

// yamlString writes s as a YAML double-quoted scalar (Go's escapes are
// YAML's).
func yamlString(s string) string { return strconv.Quote(s) }
