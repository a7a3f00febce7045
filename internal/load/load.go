package load

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golive-dev/golive/internal/inventory"
	"github.com/golive-dev/golive/internal/plan"
)

// Options say which plan to load and how.
type Options struct {
	File string            // the plan file; "" means ./golive.yaml
	Env  string            // the environment to apply
	Set  map[string]string // --set overrides of vars
	// SetFrom says who gives Set: plan.FromOperator (the CLI, the zero
	// value) or plan.FromNetwork (the server: only settable vars).
	SetFrom plan.Origin
	// AllEnvs validates the plan without an environment and under every
	// environment it declares (golive validate). Otherwise a plan with
	// environments needs Env.
	AllEnvs bool
	// Given, when set, is what this shell gives a run (its environment,
	// the secrets set): a secrets.X or env.X the plan reads and Given
	// lacks is reported (golive validate), a warning unless Given.Strict.
	Given *plan.Given
}

// Result is a loaded plan with its problems. Plan is nil when the file
// could not be decoded at all.
type Result struct {
	Plan  *plan.Plan
	Diags plan.Diags // sorted; errors and warnings
}

// ErrUsage marks a problem with how golive was called, not with the plan.
var ErrUsage = errors.New("usage")

// DefaultFile is the plan file used when none is named.
const DefaultFile = "golive.yaml"

// Load reads, decodes and validates a plan. The error is for problems
// reading the file or choosing the environment; problems in the plan are
// in Result.Diags.
func Load(opts Options) (*Result, error) {
	file := opts.File
	if file == "" {
		file = DefaultFile
	}
	data, size, err := readBounded(file)
	if err != nil {
		return nil, err
	}
	if size > plan.MaxSize {
		return &Result{Diags: plan.Diags{{File: file, Msg: fmt.Sprintf("file is %d bytes; a plan may be at most %d MiB", size, plan.MaxSize>>20)}}}, nil
	}
	doc, diags := plan.ReadDocument(file, data)
	if diags != nil {
		return &Result{Diags: diags}, nil
	}
	envs := doc.EnvironmentNames()
	if opts.AllEnvs {
		return loadAll(doc, envs, opts)
	}
	if opts.Env == "" && len(envs) > 0 {
		return nil, fmt.Errorf("%w: %s declares environments (%s): choose one with --env", ErrUsage, file, strings.Join(envs, ", "))
	}
	if opts.Env != "" && !containsStr(envs, opts.Env) {
		return nil, fmt.Errorf("%w: unknown environment %q: %s declares %s", ErrUsage, opts.Env, file, listOrNone(envs))
	}
	return loadEnv(doc, opts.Env, opts)
}

func loadAll(doc *plan.Document, envs []string, opts Options) (*Result, error) {
	res, err := loadEnv(doc, "", opts)
	if err != nil || res.Plan == nil {
		return res, err
	}
	all := res.Diags
	for _, env := range envs {
		r, err := loadEnv(doc, env, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, r.Diags...)
	}
	res.Diags = all.Sorted()
	return res, nil
}

func loadEnv(doc *plan.Document, env string, opts Options) (*Result, error) {
	p, diags := doc.Decode(env)
	if p == nil {
		return &Result{Diags: diags.Sorted()}, nil
	}
	p.File, p.Env = doc.File, env
	if err := applySet(p, opts.Set, opts.SetFrom); err != nil {
		return nil, err
	}
	diags = append(diags, expandSteps(p)...)
	diags = append(diags, readInventories(p)...)
	diags = append(diags, plan.Validate(p)...)
	if opts.Given != nil {
		diags = append(diags, plan.CheckGiven(p, *opts.Given)...)
	}
	return &Result{Plan: p, Diags: diags.Sorted()}, nil
}

func applySet(p *plan.Plan, set map[string]string, from plan.Origin) error {
	if err := p.SetVars(set, from); err != nil {
		return fmt.Errorf("%w: --set: %w", ErrUsage, err)
	}
	return nil
}

// readBounded reads a plan file, but not one larger than plan.MaxSize:
// then it returns only the size.
func readBounded(file string) ([]byte, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: %s: no such plan file (give a plan as an argument or with -f)", ErrUsage, file)
		}
		return nil, 0, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read plan: %w", err)
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%w: %s is a directory, not a plan file", ErrUsage, file)
	}
	if st.Mode().IsRegular() && st.Size() > plan.MaxSize {
		return nil, st.Size(), nil
	}
	data, err := io.ReadAll(io.LimitReader(f, plan.MaxSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read plan %s: %w", file, err)
	}
	return data, int64(len(data)), nil
}

// Path resolves a path written in a plan: ~ is the user's home, relative
// paths are relative to the plan's directory.
func Path(p *plan.Plan, path string) string {
	if path == "~" || strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[1:])
		}
	}
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(p.File), path)
}

func readInventories(p *plan.Plan) plan.Diags {
	var diags plan.Diags
	for _, ref := range p.Targets.Inventory {
		if plan.HasExpr(ref.Name) {
			continue // rendered at run time
		}
		path := Path(p, ref.Name)
		data, err := readInventoryFile(path)
		if err != nil {
			diags = append(diags, plan.Diag{File: p.File, Pos: ref.Pos, Msg: fmt.Sprintf("inventory %s: %s", ref.Name, err)})
			continue
		}
		// As in Ansible, group_vars/ and host_vars/ beside the inventory count.
		inv, err := inventory.ParseWithVars(path, data, os.DirFS(filepath.Dir(path)))
		if err != nil {
			var ie *inventory.Error
			if errors.As(err, &ie) {
				diags = append(diags, inventoryDiag(path, ie, false))
			} else {
				diags = append(diags, plan.Diag{File: p.File, Pos: ref.Pos, Msg: fmt.Sprintf("inventory %s: %s", ref.Name, err)})
			}
			continue
		}
		for _, w := range inv.Warnings {
			diags = append(diags, inventoryDiag(path, w, true))
		}
		for _, h := range inv.Hosts {
			p.InventoryHosts = append(p.InventoryHosts, inventoryHost(h, path))
		}
	}
	return diags
}

// inventoryDiag places an inventory problem in the inventory file or in
// the group_vars or host_vars file beside it.
func inventoryDiag(path string, e *inventory.Error, warning bool) plan.Diag {
	file := path
	if e.File != "" {
		file = filepath.Join(filepath.Dir(path), filepath.FromSlash(e.File))
	}
	pos := plan.Pos{}
	if e.Line > 0 {
		pos = plan.Pos{Line: e.Line, Col: max(e.Col, 1)}
	}
	return plan.Diag{File: file, Pos: pos, Msg: e.Msg, Warning: warning}
}

func readInventoryFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no such file")
		}
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, plan.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > plan.MaxSize {
		return nil, fmt.Errorf("file is larger than %d MiB", plan.MaxSize>>20)
	}
	return data, nil
}

// inventoryHost converts an inventory host. As in Ansible, a host without
// ansible_host is reached by its name.
func inventoryHost(h inventory.Host, path string) *plan.Host {
	addr := h.Address
	if addr == "" {
		addr = h.Name
	}
	ph := &plan.Host{Name: h.Name, Address: addr, Roles: h.Roles, FromInventory: path}
	ph.Pos = plan.Pos{Line: h.Line, Col: 1}
	ph.User, ph.Port = h.User, h.Port
	if h.Transport == "local" { // ansible_connection=local: this machine, as in Ansible
		ph.Transport = "local"
		ph.Address = h.Address
	}
	keys := make([]string, 0, len(h.Vars))
	for k := range h.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ph.Vars = append(ph.Vars, plan.Var{Name: k, Value: h.Vars[k]})
	}
	return ph
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// Hash is the sha256 of a plan file and of every inventory it names, in
// its base and in all its environments, with the group_vars/ and
// host_vars/ files beside them: one value for the plan in every
// environment, that changes when any of those files does. Runs, approvals
// and rehearsals are bound to it.
func Hash(file string) (string, error) {
	data, _, err := readBounded(file)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "plan\x00%d\x00", len(data))
	h.Write(data)
	doc, diags := plan.ReadDocument(file, data)
	if diags != nil {
		return "", diags
	}
	seen := map[string]bool{}
	var invs []string
	for _, env := range append([]string{""}, doc.EnvironmentNames()...) {
		p, _ := doc.Decode(env)
		if p == nil {
			continue
		}
		p.File = file
		for _, ref := range p.Targets.Inventory {
			if path := Path(p, ref.Name); !seen[path] {
				seen[path] = true
				invs = append(invs, path)
			}
		}
	}
	if err := hashIncludes(h, doc, file); err != nil {
		return "", err
	}
	sort.Strings(invs)
	for _, path := range invs {
		inv, err := readInventoryFile(path)
		if err != nil {
			return "", fmt.Errorf("inventory %s: %w", path, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(path), len(inv))
		h.Write(inv)
	}
	dirs := map[string]bool{}
	for _, path := range invs {
		dir := filepath.Dir(path)
		if dirs[dir] {
			continue
		}
		dirs[dir] = true
		if err := hashVarsDirs(h, dir); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashVarsDirs adds the group_vars/ and host_vars/ files beside an
// inventory to the plan's hash: an address set there changes the targets.
func hashVarsDirs(h io.Writer, dir string) error {
	n := 0
	for _, sub := range []string{"group_vars", "host_vars"} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == root {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
				return nil // a dangling link or a device: Ansible reads neither
			}
			if n++; n > 10000 {
				return fmt.Errorf("%s: too many files", root)
			}
			data, err := readInventoryFile(p)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			rel, _ := filepath.Rel(dir, p)
			fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
			h.Write(data)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
