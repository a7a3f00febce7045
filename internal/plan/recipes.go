package plan

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/golive-dev/golive/internal/values"
)

// Params are a recipe's parameters (with:) in file order.
type Params []Param

// Param is one recipe parameter.
type Param struct {
	Name   string
	Value  string
	KeyPos Pos
	Pos    Pos // of the value
}

// Get returns the parameter named name, or nil.
func (ps Params) Get(name string) *Param {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

func (ps *Params) decodeNode(d *decoder, n *yaml.Node) {
	var out Params
	d.eachKey(n, "parameter", func(key string, kp Pos, val *yaml.Node) {
		val = d.resolve(val)
		if val == nil {
			return
		}
		if val.Kind != yaml.ScalarNode {
			d.errorf(posOf(val), "parameter %q: expected a string, a number or a boolean, got %s", key, kindName(val))
			return
		}
		out = append(out, Param{Name: key, Value: val.Value, KeyPos: kp, Pos: posOf(val)})
	})
	*ps = out
}

// paramSpec describes one parameter of a recipe.
type paramSpec struct {
	name     string
	required bool
	def      string
	literal  bool // no expressions: golive needs the value when the plan is loaded
}

// recipe is a named way of writing steps.
type recipe struct {
	name   string
	params []paramSpec
	expand func(c *recipeCall) []Step
}

// Recipes lists the recipes uses: may name.
var Recipes = []string{"release-dir", "systemd"}

func recipeByName(name string) *recipe {
	switch name {
	case "release-dir":
		return releaseDir
	case "systemd":
		return systemdRecipe
	}
	return nil
}

// recipeCall is one uses: step being expanded.
type recipeCall struct {
	x        *expander
	st       *Step
	file     string
	prefix   string // generated steps are named prefix/part
	params   map[string]*Param
	lastRoot *Param // the root of the latest release-dir in the same list, if any
	ok       bool
}

func (c *recipeCall) errorf(p Pos, format string, args ...any) {
	c.ok = false
	c.x.errorf(c.file, p, format, args...)
}

// raw returns a parameter's text as written, or its default.
func (c *recipeCall) raw(name string) string {
	if p := c.params[name]; p != nil {
		return p.Value
	}
	return ""
}

// word returns a parameter as one sh word (see shellWord).
func (c *recipeCall) word(name string) string { return shellWord(c.raw(name)) }

// pos returns where a parameter's value is, or the uses: step's place.
func (c *recipeCall) pos(name string) Pos {
	if p := c.params[name]; p != nil {
		return p.Pos
	}
	return c.st.KeyPos("uses")
}

// firstPart names each recipe's first step (for messages).
var firstPart = map[string]string{"release-dir": "upload", "systemd": "restart"}

// usesKeys are the step keys a uses: step may give besides uses and with;
// they apply to each step the recipe writes.
var usesKeys = map[string]bool{"name": true, "when": true, "timeout": true, "retries": true, "env": true}

// recipe expands a uses: step. It returns the steps and, for release-dir,
// its root parameter.
func (x *expander) recipe(st *Step, file string, lastRoot *Param) ([]Step, *Param) {
	if st.Bad("uses") {
		return nil, nil
	}
	r := recipeByName(st.Uses)
	if r == nil {
		fields := make([]field, len(Recipes))
		for i, n := range Recipes {
			fields[i] = field{name: n}
		}
		x.errorf(file, st.ValPos("uses"), "uses: unknown recipe %q: golive has %s%s", st.Uses, strings.Join(Recipes, ", "), suggest(st.Uses, fields))
		return nil, nil
	}
	c := &recipeCall{x: x, st: st, file: file, prefix: r.name, params: map[string]*Param{}, lastRoot: lastRoot, ok: true}
	if st.Has("name") {
		c.prefix = st.Name
	}
	if first, dup := x.prefixes[c.prefix]; dup && c.prefix != "" {
		x.errorf(file, st.KeyPos("uses"), "stage uses %s twice: give each a name: (its steps are named NAME/%s, ...; the first is at line %d)", r.name, firstPart[r.name], first.Line)
		return nil, nil
	}
	if x.prefixes != nil {
		x.prefixes[c.prefix] = st.KeyPos("uses")
	}
	for _, k := range stepKeys(st) {
		if k != "uses" && k != "with" && !usesKeys[k] {
			c.errorf(st.KeyPos(k), "%s cannot be given with uses: %s writes its steps' scripts and backouts (golive plan shows them); write your own steps instead", k, r.name)
		}
	}
	c.checkParams(r)
	if !c.ok {
		return nil, nil
	}
	steps := r.expand(c)
	if !c.ok {
		return nil, nil
	}
	for i := range steps {
		g := &steps[i]
		g.File, g.When, g.Retries, g.Env = st.File, st.When, st.Retries, st.Env
		if st.Has("timeout") {
			g.Timeout = st.Timeout
		}
		for _, k := range []string{"when", "timeout", "retries", "env"} {
			if st.Has(k) {
				g.record(k, st.KeyPos(k), st.ValPos(k))
			}
		}
	}
	if r == releaseDir {
		return steps, c.params["root"]
	}
	return steps, nil
}

func (c *recipeCall) checkParams(r *recipe) {
	known := make([]field, len(r.params))
	for i, p := range r.params {
		known[i] = field{name: p.name}
	}
	for i := range c.st.With {
		p := &c.st.With[i]
		spec := r.spec(p.Name)
		if spec == nil {
			c.errorf(p.KeyPos, "%s has no parameter %q%s; its parameters are %s", r.name, p.Name, suggest(p.Name, known), r.paramList())
			continue
		}
		c.params[p.Name] = p
		switch {
		case spec.literal && HasExpr(p.Value):
			c.errorf(p.Pos, "%s: parameter %s: expressions are not allowed here (golive needs the value when it loads the plan)", r.name, p.Name)
		case strings.Contains(p.Value, "shell("):
			c.errorf(p.Pos, "%s: parameter %s: do not write shell() here: the recipe quotes every parameter itself", r.name, p.Name)
		default:
			if err := values.NoControl("parameter "+p.Name, p.Value); err != nil {
				c.errorf(p.Pos, "%s: %s", r.name, err)
			}
		}
	}
	for _, spec := range r.params {
		if c.params[spec.name] != nil {
			continue
		}
		if spec.required {
			at := c.st.KeyPos("uses")
			if c.st.Has("with") {
				at = c.st.ValPos("with")
			}
			c.errorf(at, "%s needs parameter %s (with: {%s: ...})", r.name, spec.name, spec.name)
			continue
		}
		if spec.def != "" {
			c.params[spec.name] = &Param{Name: spec.name, Value: spec.def, Pos: c.st.KeyPos("uses")}
		}
	}
}

func (r *recipe) spec(name string) *paramSpec {
	for i := range r.params {
		if r.params[i].name == name {
			return &r.params[i]
		}
	}
	return nil
}

func (r *recipe) paramList() string {
	names := make([]string, len(r.params))
	for i, p := range r.params {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// step returns a generated step named prefix/part, placed at the uses:
// step (so that what the validator says about it points there).
func (c *recipeCall) step(part, run, backout string) Step {
	st := Step{Name: c.prefix + "/" + part, Run: run, Backout: backout}
	st.Pos = c.st.Pos
	at, val := c.st.KeyPos("uses"), c.st.ValPos("uses")
	if c.st.Has("name") {
		st.record("name", c.st.KeyPos("name"), c.st.ValPos("name"))
	} else {
		st.record("name", at, val)
	}
	if run != "" {
		st.record("run", at, val)
	}
	if backout != "" {
		st.record("backout", at, val)
	}
	return st
}

// shellWord renders a parameter as one sh word whatever value it takes at
// run time: literal text single-quoted, each ${{ x }} as ${{ shell(x) }}.
// Adjacent quoted pieces make one word in sh ('/srv/'${{ shell(vars.app) }}).
func shellWord(s string) string {
	if s == "" {
		return "''"
	}
	segs, err := splitTemplate(s)
	if err != nil { // reported where the parameter is written
		return ShellQuote(s)
	}
	var b strings.Builder
	for _, seg := range segs {
		if seg.isCode {
			b.WriteString("${{ shell(" + seg.text + ") }}")
		} else {
			b.WriteString(ShellQuote(seg.text))
		}
	}
	return b.String()
}

// Run-time values every recipe script starts from, quoted by shell().
const (
	versionWord  = "${{ shell(release.version) }}"
	previousWord = "${{ shell(release.previous) }}"
)

// script joins lines into a script.
func script(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// intParam checks a whole-number parameter of at least min.
func (c *recipeCall) intParam(name string, min int) int {
	s := c.raw(name)
	n, err := strconv.Atoi(s)
	if err != nil || n < min {
		c.errorf(c.pos(name), "parameter %s: %q is not a whole number of %d or more", name, s, min)
		return min
	}
	return n
}

// boolParam checks a true/false parameter.
func (c *recipeCall) boolParam(name string) bool {
	switch s := c.raw(name); s {
	case "true":
		return true
	case "", "false":
		return false
	default:
		c.errorf(c.pos(name), "parameter %s: %q is not true or false", name, s)
		return false
	}
}

// enumParam checks a parameter that is one of a few words.
func (c *recipeCall) enumParam(name string, allowed ...string) string {
	s := c.raw(name)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	fields := make([]field, len(allowed))
	for i, a := range allowed {
		fields[i] = field{name: a}
	}
	c.errorf(c.pos(name), "parameter %s: unknown value %q: use one of %s%s", name, s, strings.Join(allowed, ", "), suggest(s, fields))
	return allowed[0]
}

// durationParam checks a duration parameter and returns it in whole
// seconds (rounded up).
func (c *recipeCall) durationParam(name string) int {
	s := c.raw(name)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 24*time.Hour {
		c.errorf(c.pos(name), "parameter %s: %q is not a duration between 1s and 24h, like 60s or 5m", name, s)
		return 1
	}
	return int((d + time.Second - 1) / time.Second)
}

var unitNameRe = regexp.MustCompile(`^[A-Za-z0-9:_.\\@-]+$`)

// checkUnit refuses a unit name systemctl would read as something else;
// a name with expressions is checked by the script at run time.
func (c *recipeCall) checkUnit(name string) {
	s := c.raw(name)
	if HasExpr(s) {
		return
	}
	if !unitNameRe.MatchString(s) || strings.HasPrefix(s, "-") || len(s) > 256 {
		c.errorf(c.pos(name), "parameter %s: %q is not a systemd unit name (letters, digits and : _ . \\ @ -, not starting with -)", name, s)
	}
}
