package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/golive-dev/golive/internal/values"
)

// SchemaID is the $id of the JSON Schema of plan format 1.
const SchemaID = "https://golive.dev/schema/plan-1.json"

// Schema returns the JSON Schema (draft 2020-12) of plan format 1,
// pretty-printed with a two-space indent. It is generated from the Go types
// of a plan: their yaml tags name the properties, and the doc, enum, min,
// max, pattern and required tags give the constraints. The types with their
// own YAML shape (Duration, Size, On, Hosts, ...) supply their schema from
// customSchemas. The output is deterministic.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]schemaObj{}, custom: customSchemas()}
	root, err := g.structSchema(reflect.TypeFor[Plan]())
	if err != nil {
		return nil, err
	}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "golive plan, format 1"
	root["description"] = "A golive deployment plan (usually golive.yaml): everything needed to roll out any release of one service. Reference: docs/plan-reference.md."
	defs := orderedObj{}
	names := make([]string, 0, len(g.defs))
	for name := range g.defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		defs = append(defs, kv{name, g.defs[name]})
	}
	root["$defs"] = defs
	var b bytes.Buffer
	if err := writeJSON(&b, root, ""); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// schemaObj is one JSON Schema object; its keywords are written in
// keywordRank order.
type schemaObj map[string]any

// orderedObj is a JSON object whose keys keep their order (properties in
// field order, $defs by name).
type orderedObj []kv

type kv struct {
	k string
	v any
}

type schemaGen struct {
	defs   map[string]schemaObj
	custom map[reflect.Type]func(g *schemaGen) (schemaObj, error)
}

func ref(def string) schemaObj { return schemaObj{"$ref": "#/$defs/" + def} }

// Name patterns checked by Validate; types.go has no pattern tag for them.
const namePattern = values.NamePattern

var weekdayNames = []any{"mon", "tue", "wed", "thu", "fri", "sat", "sun",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// customSchemas returns the schemas of the types that decode themselves
// (values.go); each becomes a $defs entry named after the type.
func customSchemas() map[reflect.Type]func(g *schemaGen) (schemaObj, error) {
	return map[reflect.Type]func(g *schemaGen) (schemaObj, error){
		reflect.TypeFor[Duration](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "a positive time span: a number with a unit (ns, us, ms, s, m, h), like 10s, 5m or 1h30m",
				"type": "string", "pattern": `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`}, nil
		},
		reflect.TypeFor[Ratio](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "a number above 0, like 1.5", "type": "number", "exclusiveMinimum": 0}, nil
		},
		reflect.TypeFor[Count](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "a number of hosts, 0 or more", "type": "integer", "minimum": 0}, nil
		},
		reflect.TypeFor[Size](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "a number of hosts (0 or more) or a percentage of the stage's hosts from 1% to 100%",
				"anyOf": []any{
					schemaObj{"type": "integer", "minimum": 0},
					schemaObj{"type": "string", "pattern": `^([1-9][0-9]?|100)%$`},
				}}, nil
		},
		reflect.TypeFor[FileMode](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "a Unix file mode in octal, best quoted: \"0644\"",
				"anyOf": []any{
					schemaObj{"type": "string", "pattern": `^(0o|0)?[0-7]{1,4}$`},
					schemaObj{"type": "integer", "minimum": 0, "maximum": 0o7777},
				}}, nil
		},
		reflect.TypeFor[Bytes](): func(*schemaGen) (schemaObj, error) {
			return schemaObj{"description": "an amount of bytes: a whole number, or a number with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), like 2GiB",
				"anyOf": []any{
					schemaObj{"type": "integer", "minimum": 0},
					schemaObj{"type": "string", "pattern": `^([0-9]+(\.[0-9]*)?|\.[0-9]+) ?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$`},
				}}, nil
		},
		reflect.TypeFor[On](): func(*schemaGen) (schemaObj, error) {
			return oneOrList(schemaObj{"type": "string", "minLength": 1},
				"a role, a host, all or local, or a list of them"), nil
		},
		reflect.TypeFor[Inventory](): func(*schemaGen) (schemaObj, error) {
			return oneOrList(schemaObj{"type": "string", "minLength": 1},
				"an inventory file or a list of them"), nil
		},
		reflect.TypeFor[Days](): func(*schemaGen) (schemaObj, error) {
			return oneOrList(schemaObj{"type": "string", "enum": weekdayNames},
				"a weekday or a list of them"), nil
		},
		reflect.TypeFor[Vars](): func(*schemaGen) (schemaObj, error) { return varsSchema(), nil },
		reflect.TypeFor[StringMap](): func(*schemaGen) (schemaObj, error) {
			return scalarMap("names and their values"), nil
		},
		reflect.TypeFor[Artifacts](): func(g *schemaGen) (schemaObj, error) {
			return g.namedMap(reflect.TypeFor[Artifact](), "artifacts by name", nil)
		},
		reflect.TypeFor[Hosts](): func(g *schemaGen) (schemaObj, error) {
			return g.namedMap(reflect.TypeFor[Host](), "hosts by name", schemaObj{"pattern": namePattern})
		},
		reflect.TypeFor[Environments](): (*schemaGen).environments,
		reflect.TypeFor[Params](): func(*schemaGen) (schemaObj, error) {
			return scalarMap("recipe parameters by name"), nil
		},
	}
}

// fieldExtras adjust single fields where the tags cannot say enough,
// keyed by Go type name and yaml name.
var fieldExtras = map[string]func(s schemaObj){
	"Plan.golive": func(s schemaObj) { s["const"] = Version },
	"Plan.name":   func(s schemaObj) { s["pattern"] = namePattern },
	"Plan.stages": func(s schemaObj) { s["minItems"] = 1 },
	"Stage.steps": func(s schemaObj) { s["minItems"] = 1 },
	"Notify.on": func(s schemaObj) {
		events := make([]any, len(NotifyEvents))
		for i, e := range NotifyEvents {
			events[i] = e
		}
		s["items"] = schemaObj{"type": "string", "enum": events}
	},
}

// structDocs describe the struct types in $defs.
var structDocs = map[string]string{
	"Release": "the release's artifacts", "Artifact": "one file of a release: path or url, with its sha256",
	"Targets": "the plan's hosts", "Defaults": "connection settings every host starts from",
	"Host": "one target", "Window": "the release window", "OpenRange": "a weekly range when work may start",
	"FreezeSpec": "a period when no release may start", "Controls": "release controls: all must hold for a go",
	"Ticket": "the change-ticket control", "Approvals": "the approvals control",
	"Check":   "a preflight, health or verify check: exactly one of run, http, tcp, (verify only) confirm or (preflight only) a fact probe: package, command, service, port, disk, memory, user, file",
	"Package": "a package that must be installed", "Command": "a program that must be on PATH",
	"Service": "a service that must be running or stopped", "Port": "a TCP port that must be free or listening",
	"Disk": "free space on a path's filesystem", "Memory": "available memory",
	"File": "a file that must exist (or not), with a mode, owner or content", "Current": "the probe that prints the release a host runs now",
	"HTTPCheck": "an HTTP probe", "TCPCheck": "a TCP probe", "Confirm": "a human sign-off after verification",
	"Stage": "an ordered part of the rollout", "Gate": "a manual judgement before a stage",
	"Strategy": "how a stage's hosts are batched", "Step": "one action on a host: exactly one of run or upload (with a name), a recipe (uses:) or an include:",
	"Upload":  "a copy of an artifact or a file to the target: exactly one of artifact or src",
	"Monitor": "a fleet-wide signal: exactly one of condition or compare", "Prometheus": "a Prometheus instant query",
	"Compare": "a comparison of the current batch's hosts with hosts not yet released",
	"Backout": "what happens when a run fails", "Notify": "one release communication",
}

// exactlyOne lists, per struct type, keys of which exactly one must be
// given (the kinds of a step or a check).
var exactlyOne = map[reflect.Type][]string{
	reflect.TypeFor[Step]():    {"run", "upload", "uses", "include"},
	reflect.TypeFor[Check]():   append([]string{"run", "http", "tcp", "confirm"}, FactKinds...),
	reflect.TypeFor[Upload]():  {"artifact", "src"},
	reflect.TypeFor[Monitor](): {"condition", "compare"},
}

func oneOrList(item schemaObj, desc string) schemaObj {
	return schemaObj{"description": desc, "anyOf": []any{item, schemaObj{"type": "array", "items": item}}}
}

func scalarMap(desc string) schemaObj {
	return schemaObj{"description": desc + " (strings, numbers or booleans, read as text)", "type": "object", "propertyNames": schemaObj{"minLength": 1},
		"additionalProperties": schemaObj{"type": []any{"string", "number", "boolean", "null"}}}
}

// varsSchema: each var is a value, or {value, settable} for a var that
// may be set at run time.
func varsSchema() schemaObj {
	scalar := schemaObj{"type": []any{"string", "number", "boolean", "null"}}
	declared := schemaObj{
		"description": "a var that declares who may set it at run time",
		"type":        "object",
		"properties": orderedObj{
			{"value", schemaObj{"description": "the var's value (may use expressions)", "type": []any{"string", "number", "boolean", "null"}}},
			{"settable", schemaObj{"description": "regular expression a value set at run time must match as a whole; only vars with settable may be set over the network", "type": "string", "minLength": 1}},
		},
		"required":             []any{"value"},
		"additionalProperties": false,
	}
	return schemaObj{"description": "var names and their values (strings, numbers or booleans, read as text), or {value, settable}",
		"type": "object", "propertyNames": schemaObj{"minLength": 1},
		"additionalProperties": schemaObj{"anyOf": []any{scalar, declared}}}
}

func (g *schemaGen) namedMap(elem reflect.Type, desc string, names schemaObj) (schemaObj, error) {
	item, err := g.typeSchema(elem)
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = schemaObj{}
	}
	names["minLength"] = 1
	return schemaObj{"description": desc, "type": "object", "propertyNames": names, "additionalProperties": item}, nil
}

// notOverridable keys are left out of an environment overlay.
func (g *schemaGen) environments() (schemaObj, error) {
	props := orderedObj{}
	for _, f := range fieldsOf(reflect.TypeFor[Plan]()) {
		if _, bad := notOverridable[f.name]; bad {
			continue
		}
		props = append(props, kv{f.name, schemaObj{"$ref": "#/properties/" + f.name}})
	}
	g.defs["Environment"] = schemaObj{
		"description":          "an environment's overrides: any top-level key but golive, name and environments; mappings merge key by key, other values replace the plan's",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	return schemaObj{"description": "environments by name", "type": "object", "propertyNames": schemaObj{"minLength": 1},
		"additionalProperties": schemaObj{"anyOf": []any{ref("Environment"), schemaObj{"type": "null"}}}}, nil
}

// typeSchema returns the schema of a value of type t, as a $ref for
// structs and custom types.
func (g *schemaGen) typeSchema(t reflect.Type) (schemaObj, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if build, ok := g.custom[t]; ok {
		if _, done := g.defs[t.Name()]; !done {
			g.defs[t.Name()] = nil // reserve: guards recursion
			s, err := build(g)
			if err != nil {
				return nil, err
			}
			g.defs[t.Name()] = s
		}
		return ref(t.Name()), nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if _, done := g.defs[t.Name()]; !done {
			g.defs[t.Name()] = nil
			s, err := g.structSchema(t)
			if err != nil {
				return nil, err
			}
			g.defs[t.Name()] = s
		}
		return ref(t.Name()), nil
	case reflect.Slice:
		item, err := g.typeSchema(t.Elem())
		if err != nil {
			return nil, err
		}
		return schemaObj{"type": "array", "items": item}, nil
	case reflect.String:
		return schemaObj{"type": "string"}, nil
	case reflect.Int:
		return schemaObj{"type": "integer"}, nil
	case reflect.Bool:
		return schemaObj{"type": "boolean"}, nil
	}
	return nil, fmt.Errorf("schema: no JSON Schema for Go type %s", t)
}

// structSchema returns the object schema of struct type t, one property
// per field the decoder knows (fieldsOf: yaml tags, inline embedding).
func (g *schemaGen) structSchema(t reflect.Type) (schemaObj, error) {
	props := orderedObj{}
	var required []any
	for _, f := range fieldsOf(t) {
		sf := t.FieldByIndex(f.index)
		s, err := g.fieldSchema(t, f.name, sf)
		if err != nil {
			return nil, err
		}
		props = append(props, kv{f.name, s})
		if sf.Tag.Get("required") == "true" {
			required = append(required, f.name)
		}
	}
	out := schemaObj{"type": "object", "properties": props, "additionalProperties": false}
	if d := structDocs[t.Name()]; d != "" {
		out["description"] = d
	}
	if len(required) > 0 {
		out["required"] = required
	}
	if keys := exactlyOne[t]; len(keys) > 0 {
		var alts []any
		for _, k := range keys {
			alts = append(alts, schemaObj{"required": append([]any{k}, alsoRequired[t.Name()+"."+k]...)})
		}
		out["oneOf"] = alts
	}
	return out, nil
}

func (g *schemaGen) fieldSchema(owner reflect.Type, name string, sf reflect.StructField) (schemaObj, error) {
	where := owner.Name() + "." + name
	s, err := g.typeSchema(sf.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	doc := sf.Tag.Get("doc")
	if doc == "" {
		return nil, fmt.Errorf("schema: field %s has no doc tag", where)
	}
	s["description"] = doc
	leaf := s
	if items, ok := s["items"].(schemaObj); ok && s["type"] == "array" {
		leaf = items // enum, min, ... of a list constrain its items
	}
	if e := sf.Tag.Get("enum"); e != "" {
		var vals []any
		for _, v := range strings.Split(e, ",") {
			vals = append(vals, v)
		}
		leaf["enum"] = vals
	}
	for tag, kw := range map[string]string{"min": "minimum", "max": "maximum"} {
		if v := sf.Tag.Get(tag); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("schema: field %s: bad %s tag %q", where, tag, v)
			}
			leaf[kw] = n
		}
	}
	if p := sf.Tag.Get("pattern"); p != "" {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("schema: field %s: bad pattern: %w", where, err)
		}
		leaf["pattern"] = p
	}
	if extra := fieldExtras[where]; extra != nil {
		extra(s)
	}
	return s, nil
}

// keywordRank orders the keywords of a schema object for readability.
var keywordRank = map[string]int{
	"$schema": 1, "$id": 2, "title": 3, "$ref": 4, "description": 5, "type": 6, "const": 7, "enum": 8,
	"pattern": 9, "minLength": 10, "minimum": 11, "exclusiveMinimum": 11, "maximum": 12, "minItems": 13, "items": 14, "propertyNames": 15,
	"properties": 16, "required": 17, "additionalProperties": 18, "anyOf": 19, "oneOf": 20, "$defs": 21,
}

func writeJSON(b *bytes.Buffer, v any, indent string) error {
	inner := indent + "  "
	switch v := v.(type) {
	case schemaObj:
		keys := make([]string, 0, len(v))
		for k := range v {
			if keywordRank[k] == 0 {
				return fmt.Errorf("schema: unranked keyword %q", k)
			}
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keywordRank[keys[i]] < keywordRank[keys[j]] })
		obj := make(orderedObj, len(keys))
		for i, k := range keys {
			obj[i] = kv{k, v[k]}
		}
		return writeJSON(b, obj, indent)
	case orderedObj:
		if len(v) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i, p := range v {
			b.WriteString(inner)
			writeString(b, p.k)
			b.WriteString(": ")
			if err := writeJSON(b, p.v, inner); err != nil {
				return err
			}
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		return writeArray(b, v, indent)
	case string:
		writeString(b, v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	default:
		return fmt.Errorf("schema: cannot write %T", v)
	}
	return nil
}

func writeArray(b *bytes.Buffer, v []any, indent string) error {
	if len(v) == 0 {
		b.WriteString("[]")
		return nil
	}
	b.WriteString("[\n")
	for i, x := range v {
		b.WriteString(indent + "  ")
		if err := writeJSON(b, x, indent+"  "); err != nil {
			return err
		}
		if i < len(v)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "]")
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}
