package inventory

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	// maxVarsFile bounds one group_vars or host_vars file.
	maxVarsFile = 4 << 20
	// maxVarsFiles bounds how many such files are read in all.
	maxVarsFiles = 10000
)

// varsExtensions are the names Ansible tries, in order, for group_vars/NAME
// and host_vars/NAME; the first that exists is used (a directory: every
// file in it, recursively, in name order).
var varsExtensions = []string{"", ".yml", ".yaml", ".json"}

// readVarsDirs reads group_vars/ and host_vars/ in dir the way Ansible's
// host_group_vars plugin does: group_vars/GROUP and host_vars/HOST, as a
// file (no extension, .yml, .yaml or .json) or a directory of them.
func (b *builder) readVarsDirs(dir fs.FS) error {
	files := 0
	groups := make([]string, 0, len(b.groups))
	for name := range b.groups {
		groups = append(groups, name)
	}
	slices.Sort(groups)
	for _, name := range groups {
		if err := b.readVarsFor(dir, "group_vars", name, b.groups[name].fileVars, &files); err != nil {
			return err
		}
	}
	for _, name := range b.hostOrder {
		h := b.hosts[name]
		entity := h.name
		if h.ansible != "" {
			entity = h.ansible
		}
		if err := b.readVarsFor(dir, "host_vars", entity, h.fileVars, &files); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) readVarsFor(dir fs.FS, sub, entity string, dst map[string]varDef, files *int) error {
	for _, ext := range varsExtensions {
		p := sub + "/" + entity + ext
		if !fs.ValidPath(p) {
			return nil
		}
		fi, err := fs.Stat(dir, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &Error{File: p, Msg: err.Error()}
		}
		var list []string
		if fi.IsDir() {
			if list, err = varsDirFiles(dir, p); err != nil {
				return &Error{File: p, Msg: err.Error()}
			}
		} else {
			list = []string{p}
		}
		for _, f := range list {
			if *files++; *files > maxVarsFiles {
				return &Error{File: f, Msg: "too many group_vars and host_vars files"}
			}
			if err := b.readVarsFile(dir, f, dst); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// varsDirFiles lists the vars files under p as Ansible does: sorted,
// recursive into directories without an extension, skipping hidden files
// and backups, keeping files without an extension or with a YAML one.
func varsDirFiles(dir fs.FS, p string) ([]string, error) {
	entries, err := fs.ReadDir(dir, p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries { // fs.ReadDir sorts by name
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		full, ext := p+"/"+n, path.Ext(n)
		switch {
		case e.IsDir() && ext == "":
			sub, err := varsDirFiles(dir, full)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case !e.IsDir() && (ext == "" || slices.Contains(varsExtensions[1:], ext)):
			out = append(out, full)
		}
	}
	return out, nil
}

// readVarsFile reads one YAML (or JSON) mapping of vars into dst.
func (b *builder) readVarsFile(dir fs.FS, p string, dst map[string]varDef) error {
	fi, err := fs.Stat(dir, p)
	if err != nil {
		return &Error{File: p, Msg: err.Error()}
	}
	if fi.Size() > maxVarsFile {
		return &Error{File: p, Msg: "file is larger than 4 MiB"}
	}
	data, err := fs.ReadFile(dir, p)
	if err != nil {
		return &Error{File: p, Msg: err.Error()}
	}
	if strings.HasPrefix(string(data), "$ANSIBLE_VAULT;") {
		b.warnings = append(b.warnings, &Error{File: p, Line: 1, Msg: "skipping a vault-encrypted file: golive does not decrypt Ansible Vault"})
		return nil
	}
	withFile := func(err error) error {
		var e *Error
		if errors.As(err, &e) && e.File == "" {
			e.File = p
		}
		return err
	}
	if err := checkText(data); err != nil {
		return withFile(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return withFile(yamlError(err))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil
	}
	y := &yamlParser{b: b, seen: map[seenKey]bool{}, work: maxYAMLWork}
	root, err := y.deref(doc.Content[0])
	if err != nil {
		return withFile(err)
	}
	if root.Kind != yaml.MappingNode {
		return withFile(errAt(root.Line, root.Column, "vars file must be a mapping of var names to values, got %s", kindName(root)))
	}
	return withFile(y.vars(dst, "var", root, nil))
}
