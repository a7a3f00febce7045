package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golive-dev/golive/internal/load"
)

// Plan is a plan the server knows: by its name, from its file.
type Plan struct {
	Name string   `json:"name"`
	File string   `json:"file"`
	Envs []string `json:"environments"`
}

// Discover finds the plans of the arguments: each a plan file, or a
// directory whose golive.yaml and *.golive.yaml files, in it and one level
// below, are plans. Two plans with one name are an error, as is a plan
// that does not load.
func Discover(args []string) (map[string]*Plan, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		found, err := planFiles(a)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no golive.yaml or *.golive.yaml in it or one level below", a)
		}
		files = append(files, found...)
	}
	plans := map[string]*Plan{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		p, err := readPlan(abs)
		if err != nil {
			return nil, err
		}
		if old, ok := plans[p.Name]; ok {
			if old.File == abs {
				continue
			}
			return nil, fmt.Errorf("two plans are named %q: %s and %s; plans are known by name", p.Name, old.File, abs)
		}
		plans[p.Name] = p
	}
	if len(plans) == 0 {
		return nil, fmt.Errorf("no plans: give plan files or directories")
	}
	return plans, nil
}

// planFiles are the plans in dir and one level below, sorted.
func planFiles(dir string) ([]string, error) {
	var out []string
	for _, pattern := range []string{"golive.yaml", "*.golive.yaml", "*/golive.yaml", "*/*.golive.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out, nil
}

// readPlan loads a plan under every environment for its name.
func readPlan(file string) (*Plan, error) {
	res, err := load.Load(load.Options{File: file, AllEnvs: true})
	if err != nil {
		return nil, err
	}
	if res.Diags.HasErrors() || res.Plan == nil {
		var msgs []string
		for _, d := range res.Diags {
			msgs = append(msgs, d.String())
		}
		return nil, fmt.Errorf("%s: the plan is not valid (`golive validate -f %s`):\n%s", file, file, strings.Join(msgs, "\n"))
	}
	return &Plan{Name: res.Plan.Name, File: file, Envs: append([]string{}, res.Plan.Environments.Names()...)}, nil
}
