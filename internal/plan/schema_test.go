package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const goldenSchema = "testdata/schema.golden.json"

// updateGolden is -update; it is defined here unless another test file of
// the package already defines it.
var updateGolden = func() func() bool {
	if f := flag.Lookup("update"); f != nil {
		return func() bool { return f.Value.String() == "true" }
	}
	b := flag.Bool("update", false, "rewrite golden files")
	return func() bool { return *b }
}()

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := Schema()
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// yamlToJSON converts YAML text into the JSON value a validator sees.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	js, err := json.Marshal(stringKeys(v))
	if err != nil {
		t.Fatalf("to json: %v", err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = stringKeys(x)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[yamlKey(k)] = stringKeys(x)
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = stringKeys(x)
		}
	}
	return v
}

func yamlKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	b, _ := json.Marshal(k)
	return strings.Trim(string(b), `"`)
}

func TestSchemaValidPlans(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	more, _ := filepath.Glob("testdata/valid/*.yml")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no plans in testdata/valid")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s does not match the schema:\n%v", f, err)
		}
	}
}

// TestSchemaPlansDecode keeps this file's own valid plans honest: golive
// itself accepts them, under every environment.
func TestSchemaPlansDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/schema-*.yaml")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		doc, diags := ReadDocument(f, data)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		for _, env := range append([]string{""}, doc.EnvironmentNames()...) {
			p, diags := doc.Decode(env)
			if !diags.HasErrors() {
				p.File = f
				diags = append(diags, Validate(p)...)
			}
			if diags.HasErrors() {
				t.Errorf("%s (env %q):\n%s", f, env, diags.Sorted())
			}
		}
	}
}

const schemaBasePlan = `
golive: 1
name: shop
targets:
  hosts:
    web-1: {address: 10.0.0.1, roles: [web]}
environments:
  staging: {vars: {x: 1}}
stages:
  - name: web
    on: web
    strategy: {batch: 25%, max_failed: 0}
    steps:
      - name: restart
        run: systemctl restart shop
        timeout: 60s
`

func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	if err := sch.Validate(yamlToJSON(t, []byte(schemaBasePlan))); err != nil {
		t.Fatalf("base plan does not validate: %v", err)
	}
	stage := func(p map[string]any) map[string]any { return p["stages"].([]any)[0].(map[string]any) }
	step := func(p map[string]any) map[string]any { return stage(p)["steps"].([]any)[0].(map[string]any) }
	host := func(p map[string]any) map[string]any {
		return p["targets"].(map[string]any)["hosts"].(map[string]any)["web-1"].(map[string]any)
	}
	env := func(p map[string]any) map[string]any {
		return p["environments"].(map[string]any)["staging"].(map[string]any)
	}
	strategy := func(p map[string]any) map[string]any { return stage(p)["strategy"].(map[string]any) }
	cases := []struct {
		name   string
		mutate func(p map[string]any)
	}{
		{"unknown top-level key", func(p map[string]any) { p["stagez"] = []any{} }},
		{"unknown stage key", func(p map[string]any) { stage(p)["step"] = "x" }},
		{"unknown step key", func(p map[string]any) { step(p)["script"] = "x" }},
		{"unknown host key", func(p map[string]any) { host(p)["ip"] = "10.0.0.1" }},
		{"unknown overlay key", func(p map[string]any) { env(p)["stagez"] = []any{} }},
		{"overlay sets golive", func(p map[string]any) { env(p)["golive"] = json.Number("1") }},
		{"overlay sets name", func(p map[string]any) { env(p)["name"] = "other" }},
		{"overlay nests environments", func(p map[string]any) { env(p)["environments"] = map[string]any{} }},
		{"timeout is a number", func(p map[string]any) { step(p)["timeout"] = json.Number("60") }},
		{"timeout has no unit", func(p map[string]any) { step(p)["timeout"] = "60" }},
		{"batch 0%", func(p map[string]any) { strategy(p)["batch"] = "0%" }},
		{"batch 101%", func(p map[string]any) { strategy(p)["batch"] = "101%" }},
		{"batch negative", func(p map[string]any) { strategy(p)["batch"] = json.Number("-1") }},
		{"max_failed 101%", func(p map[string]any) { strategy(p)["max_failed"] = "101%" }},
		{"golive 2", func(p map[string]any) { p["golive"] = json.Number("2") }},
		{"no golive", func(p map[string]any) { delete(p, "golive") }},
		{"no stages", func(p map[string]any) { delete(p, "stages") }},
		{"empty stages", func(p map[string]any) { p["stages"] = []any{} }},
		{"stage without on", func(p map[string]any) { delete(stage(p), "on") }},
		{"step without action", func(p map[string]any) { delete(step(p), "run") }},
		{"step with two actions", func(p map[string]any) { step(p)["upload"] = map[string]any{"src": "a", "to": "/b"} }},
		{"run step without a name", func(p map[string]any) { delete(step(p), "name") }},
		{"step with run and uses", func(p map[string]any) { step(p)["uses"] = "systemd" }},
		{"recipe parameter is a list", func(p map[string]any) {
			delete(step(p), "run")
			step(p)["uses"] = "systemd"
			step(p)["with"] = map[string]any{"unit": []any{"a"}}
		}},
		{"bad transport", func(p map[string]any) { host(p)["transport"] = "ftp" }},
		{"port 0", func(p map[string]any) { host(p)["port"] = json.Number("0") }},
		{"bad plan name", func(p map[string]any) { p["name"] = "shop web" }},
		{"var is a list", func(p map[string]any) { p["vars"] = map[string]any{"x": []any{}} }},
		{"declared var without value", func(p map[string]any) { p["vars"] = map[string]any{"x": map[string]any{"settable": "a"}} }},
		{"declared var with an unknown key", func(p map[string]any) {
			p["vars"] = map[string]any{"x": map[string]any{"value": "a", "default": "b"}}
		}},
		{"empty settable", func(p map[string]any) { p["vars"] = map[string]any{"x": map[string]any{"value": "a", "settable": ""}} }},
		{"bad on_close", func(p map[string]any) { p["window"] = map[string]any{"on_close": "stop"} }},
		{"bad notify event", func(p map[string]any) {
			p["notify"] = []any{map[string]any{"webhook": "https://x", "on": []any{"done"}}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := yamlToJSON(t, []byte(schemaBasePlan)).(map[string]any)
			c.mutate(p)
			if err := sch.Validate(p); err == nil {
				t.Errorf("schema accepts a plan with %s", c.name)
			}
		})
	}
}

func TestSchemaGolden(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Schema()
	if !bytes.Equal(got, again) {
		t.Fatal("Schema is not deterministic")
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, got, "", "  "); err != nil || !bytes.Equal(indented.Bytes(), got) {
		t.Errorf("schema is not JSON indented by two spaces (err %v)", err)
	}
	if updateGolden() {
		if err := os.WriteFile(goldenSchema, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenSchema)
	if err != nil {
		t.Fatalf("%v (run go test -run SchemaGolden -update to create it)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("Schema() differs from %s; if the change is intended, run go test ./internal/plan -run SchemaGolden -update", goldenSchema)
	}
}

// schemaPropertyNames returns every name under "properties" in the schema.
func schemaPropertyNames(t *testing.T) []string {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if props, ok := x.(map[string]any); ok && k == "properties" {
					for name := range props {
						seen[name] = true
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	var out []string
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

var backquoted = regexp.MustCompile("`([^`\n]+)`")
var dottedPath = regexp.MustCompile(`^[A-Za-z0-9_]+(\[\])?(\.[A-Za-z0-9_]+(\[\])?)*:?$`)

func TestReferenceNamesEveryProperty(t *testing.T) {
	data, err := os.ReadFile("../../docs/plan-reference.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range backquoted.FindAllStringSubmatch(string(data), -1) {
		if s := m[1]; dottedPath.MatchString(s) {
			for _, part := range strings.Split(strings.TrimSuffix(s, ":"), ".") {
				documented[strings.TrimSuffix(part, "[]")] = true
			}
		}
	}
	for _, name := range schemaPropertyNames(t) {
		if !documented[name] {
			t.Errorf("docs/plan-reference.md does not mention `%s`", name)
		}
	}
}

// TestReferenceExamples validates the doc's complete YAML examples (those
// not marked "# fragment") against the schema.
func TestReferenceExamples(t *testing.T) {
	data, err := os.ReadFile("../../docs/plan-reference.md")
	if err != nil {
		t.Fatal(err)
	}
	sch := compileSchema(t)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	complete := 0
	for i, b := range blocks {
		if strings.HasPrefix(b[1], "# fragment") {
			continue
		}
		complete++
		if err := sch.Validate(yamlToJSON(t, []byte(b[1]))); err != nil {
			t.Errorf("yaml example %d does not match the schema:\n%s\n%v", i+1, b[1], err)
		}
	}
	if complete == 0 {
		t.Error("the reference has no complete example")
	}
}
