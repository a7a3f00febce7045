package load

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golive-dev/golive/internal/plan"
)

// readInclude is the plan.IncludeReader of the disk: path is relative to
// the directory of the file that includes it (~ is the user's home).
func readInclude(from, path string) (string, []byte, error) {
	name := path
	switch {
	case path == "~" || strings.HasPrefix(path, "~/"):
		if home, err := os.UserHomeDir(); err == nil {
			name = filepath.Join(home, path[1:])
		}
	case !filepath.IsAbs(path):
		name = filepath.Join(filepath.Dir(from), path)
	}
	name = filepath.Clean(name)
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return name, nil, fmt.Errorf("no such file (%s; include paths are relative to the file that names them)", name)
		}
		return name, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return name, nil, err
	} else if !st.Mode().IsRegular() {
		return name, nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, plan.MaxSize+1))
	if err != nil {
		return name, nil, err
	}
	if len(data) > plan.MaxSize {
		return name, nil, fmt.Errorf("%s is larger than %d MiB", name, plan.MaxSize>>20)
	}
	return name, data, nil
}

// expandSteps expands the plan's include: and uses: steps.
func expandSteps(p *plan.Plan) plan.Diags {
	return plan.ExpandSteps(p, readInclude)
}

// hashIncludes adds every step file the plan includes, in its base and in
// all its environments, to the plan's hash: approvals bind to them. A
// step file that cannot be read is an error (the plan would not load).
func hashIncludes(h hash.Hash, doc *plan.Document, file string) error {
	files := map[string][]byte{}
	var failed error
	record := func(from, path string) (string, []byte, error) {
		name, data, err := readInclude(from, path)
		if err != nil {
			if failed == nil {
				failed = fmt.Errorf("include %s: %w", path, err)
			}
			return name, nil, err
		}
		files[name] = data
		return name, data, nil
	}
	for _, env := range append([]string{""}, doc.EnvironmentNames()...) {
		p, _ := doc.Decode(env)
		if p == nil {
			continue
		}
		p.File = file
		plan.ExpandSteps(p, record)
	}
	if failed != nil {
		return failed
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rel, err := filepath.Rel(filepath.Dir(file), n)
		if err != nil {
			rel = n
		}
		fmt.Fprintf(h, "include\x00%s\x00%d\x00", filepath.ToSlash(rel), len(files[n]))
		h.Write(files[n])
	}
	return nil
}
