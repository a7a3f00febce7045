package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxIncludeDepth is how deeply step files may include step files.
const MaxIncludeDepth = 8

// IncludeReader reads the step file that file from names as path (as
// written in from). It returns the name the file is known by in messages
// and include cycles (the path joined to from's directory) and its text.
// The load package gives one that reads the disk.
type IncludeReader func(from, path string) (name string, data []byte, err error)

// expander replaces include: and uses: items of the stages' step lists by
// the steps they stand for.
type expander struct {
	p     *Plan
	read  IncludeReader
	diags Diags
	// prefixes are the names of the recipe steps of the stage being
	// expanded: two with the same name would write the same steps.
	prefixes map[string]Pos
}

// ExpandSteps replaces, in every stage, each include: item by the steps
// of its file (recursively) and each uses: item by its recipe's steps, and
// marks steps written in an included file with that file. Problems are
// returned with the file, line and column they are at: in the included
// file for what is wrong inside it.
func ExpandSteps(p *Plan, read IncludeReader) Diags {
	x := &expander{p: p, read: read}
	for i := range p.Stages {
		s := &p.Stages[i]
		x.prefixes = map[string]Pos{}
		before := len(x.diags)
		had := len(s.Steps) > 0
		s.Steps = x.list(s.Steps, p.File, []string{p.File})
		if had && len(s.Steps) == 0 && len(x.diags) > before {
			s.markBad("steps") // reported: "has no steps" would pile on
		}
	}
	return x.diags
}

func (x *expander) errorf(file string, p Pos, format string, args ...any) {
	x.diags = append(x.diags, Diag{File: file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// list expands the steps written in file; stack is the chain of files
// that included it, the plan first.
func (x *expander) list(steps []Step, file string, stack []string) []Step {
	out := make([]Step, 0, len(steps))
	var lastRoot *Param // the root of the latest release-dir: systemd's backout switches it back
	for _, st := range steps {
		if file != x.p.File {
			st.File = file
		}
		switch {
		case st.Has("include"):
			out = append(out, x.include(&st, file, stack)...)
		case st.Has("uses"):
			gen, root := x.recipe(&st, file, lastRoot)
			if root != nil {
				lastRoot = root
			}
			out = append(out, gen...)
		default:
			if st.Has("with") {
				x.errorf(file, st.KeyPos("with"), "with: gives a recipe's parameters and belongs to a uses: step")
			}
			out = append(out, st)
		}
	}
	return out
}

func (x *expander) include(st *Step, file string, stack []string) []Step {
	bad := false
	for _, k := range stepKeys(st) {
		if k != "include" {
			x.errorf(file, st.KeyPos(k), "%s: an include: item stands alone (the included file's steps say everything); move %s into them", k, k)
			bad = true
		}
	}
	if bad || st.Bad("include") {
		return nil
	}
	at := st.ValPos("include")
	switch {
	case st.Include == "":
		x.errorf(file, at, "include: needs a file name (a list of steps, relative to this file)")
		return nil
	case HasExpr(st.Include):
		x.errorf(file, at, "include: expressions are not allowed: step files are read when the plan is loaded, before any release is known")
		return nil
	case len(stack) > MaxIncludeDepth:
		x.errorf(file, at, "include %s: includes nest more than %d deep (%s)", st.Include, MaxIncludeDepth, strings.Join(stack, " -> "))
		return nil
	case x.read == nil:
		x.errorf(file, at, "include %s: step files cannot be read here", st.Include)
		return nil
	}
	name, data, err := x.read(file, st.Include)
	if err != nil {
		x.errorf(file, at, "include %s: %v", st.Include, err)
		return nil
	}
	for _, f := range stack {
		if f == name {
			x.errorf(file, at, "include cycle: %s -> %s", strings.Join(stack, " -> "), name)
			return nil
		}
	}
	root, diags := readStepFile(name, data)
	if diags != nil {
		x.diags = append(x.diags, diags...)
		return nil
	}
	d := &decoder{file: name}
	var steps []Step
	d.decode(root, reflect.ValueOf(&steps).Elem())
	if !d.over {
		d.checkExpressions(root, x.p)
	}
	x.diags = append(x.diags, d.diags...)
	if len(steps) == 0 && len(d.diags) == 0 {
		x.errorf(name, posOf(root), "the included file holds no steps")
	}
	return x.list(steps, name, append(stack[:len(stack):len(stack)], name))
}

// stepKeys lists the keys given in a step, in the order of Step's fields.
func stepKeys(st *Step) []string {
	var out []string
	for _, f := range fieldsOf(reflect.TypeFor[Step]()) {
		if st.Has(f.name) {
			out = append(out, f.name)
		}
	}
	return out
}

// readStepFile parses an included step file: one YAML document holding
// a list of steps.
func readStepFile(file string, data []byte) (*yaml.Node, Diags) {
	fail := func(p Pos, format string, args ...any) (*yaml.Node, Diags) {
		return nil, Diags{{File: file, Pos: p, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(data) > MaxSize {
		return fail(Pos{}, "file is %d bytes; a step file may be at most %d MiB", len(data), MaxSize>>20)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		if i < 0 {
			i = firstInvalidUTF8(data)
		}
		line := bytes.Count(data[:i], []byte("\n")) + 1
		return fail(Pos{line, 1}, "not a text file: binary data at byte %d (a step file is UTF-8 YAML)", i)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeSafely(dec, &doc); errors.Is(err, io.EOF) || (err == nil && len(doc.Content) == 0) {
		return fail(Pos{1, 1}, "the included file is empty: it holds a list of steps (- name: ...)")
	} else if err != nil {
		p, msg := yamlErrorPos(err)
		return fail(p, "%s", msg)
	}
	var extra yaml.Node
	if err := decodeSafely(dec, &extra); err == nil {
		return fail(posOf(&extra), "a step file holds one YAML document; found another here")
	} else if !errors.Is(err, io.EOF) {
		p, msg := yamlErrorPos(err)
		return fail(p, "%s", msg)
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind != yaml.SequenceNode {
		hint := ""
		if mapValue(root, "golive") != nil {
			hint = " (this is a plan: include: takes a file of steps)"
		}
		return fail(posOf(root), "an included file holds a list of steps (- name: ...), got %s%s", kindName(root), hint)
	}
	return root, nil
}

// fileName is the file the validator reports in: the included file while
// it checks a step written there, else the plan.
func (v *validator) fileName() string {
	if v.inFile != "" {
		return v.inFile
	}
	return v.p.File
}

// alsoRequired lists, per type and kind of a oneOf alternative (see
// exactlyOne in schema.go), the keys that kind also needs: a step that
// runs or uploads has a name, a recipe or an include need none.
var alsoRequired = map[string][]any{
	"Step.run":    {"name"},
	"Step.upload": {"name"},
}
