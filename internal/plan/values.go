package plan

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time span written like 10s, 5m or 1h30m.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (du Duration) D() time.Duration { return time.Duration(du) }

// Or returns the duration, or def when it was not set.
func (du Duration) Or(def time.Duration) time.Duration {
	if du == 0 {
		return def
	}
	return time.Duration(du)
}

func (du Duration) String() string { return time.Duration(du).String() }

func (du *Duration) decodeNode(d *decoder, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(posOf(n), "expected a duration like 10s or 5m, got %s", kindName(n))
		return
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(posOf(n), "invalid duration %q: use a number with a unit, like 10s, 5m or 1h30m", n.Value)
		return
	}
	if v <= 0 {
		d.errorf(posOf(n), "duration %q must be positive", n.Value)
		return
	}
	*du = Duration(v)
}

// Count is a non-negative number of hosts.
type Count struct {
	N   int
	Pos Pos
}

func (c *Count) decodeNode(d *decoder, n *yaml.Node) {
	c.Pos = posOf(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(posOf(n), "expected a number of hosts, got %s", kindName(n))
		return
	}
	if i < 0 {
		d.errorf(posOf(n), "%d is negative: a count of hosts must be 0 or more", i)
		return
	}
	c.N = i
}

// Size is a number of hosts or a percentage of a stage's hosts.
type Size struct {
	N       int
	Percent int // 1..100 when the size is a percentage
	Pos     Pos
}

func (s Size) String() string {
	if s.Percent > 0 {
		return fmt.Sprintf("%d%%", s.Percent)
	}
	return strconv.Itoa(s.N)
}

// Of returns the number of hosts the size stands for out of total: a
// percentage is rounded up, so 25% of 5 hosts is 2.
func (s Size) Of(total int) int {
	if s.Percent > 0 {
		return (total*s.Percent + 99) / 100
	}
	return s.N
}

// OfDown returns the number of hosts out of total, a percentage rounded
// down (for failure budgets: 10% of 5 hosts allows 0 failures).
func (s Size) OfDown(total int) int {
	if s.Percent > 0 {
		return total * s.Percent / 100
	}
	return s.N
}

func (s *Size) decodeNode(d *decoder, n *yaml.Node) {
	s.Pos = posOf(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var i int
		if n.Decode(&i) != nil {
			d.errorf(posOf(n), "invalid number %q", n.Value)
			return
		}
		if i < 0 {
			d.errorf(posOf(n), "%d is negative: use a number of hosts (0 or more) or a percentage like 25%%", i)
			return
		}
		s.N = i
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.HasSuffix(n.Value, "%") {
		p, err := strconv.Atoi(strings.TrimSuffix(n.Value, "%"))
		if err != nil || p < 1 || p > 100 {
			d.errorf(posOf(n), "invalid percentage %q: use 1%% to 100%%", n.Value)
			return
		}
		s.Percent = p
		return
	}
	d.errorf(posOf(n), "expected a number of hosts or a percentage like 25%%, got %s", kindName(n))
}

// FileMode is a Unix file mode written in octal, like "0644".
type FileMode struct {
	Mode os.FileMode
	Set  bool
}

func (m *FileMode) decodeNode(d *decoder, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(posOf(n), "expected a file mode like \"0644\", got %s", kindName(n))
		return
	}
	text := n.Value
	if n.ShortTag() == "!!int" && !strings.HasPrefix(text, "0") {
		d.errorf(posOf(n), "file mode %s must be octal: quote it with a leading zero, like \"0644\"", text)
		return
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(text, "0o"), "0"), 8, 32)
	if err != nil || v > 0o7777 {
		d.errorf(posOf(n), "invalid file mode %q: use octal, like \"0644\" or \"0755\"", text)
		return
	}
	m.Mode, m.Set = os.FileMode(v), true
}

// Ref is a name written in the plan, with where it was written.
type Ref struct {
	Name string
	Pos  Pos
}

// On selects targets: a role, a host, a list of them, all, or local.
type On []Ref

// Names returns the selected names.
func (o On) Names() []string {
	out := make([]string, len(o))
	for i, r := range o {
		out[i] = r.Name
	}
	return out
}

func (o *On) decodeNode(d *decoder, n *yaml.Node) { *o = On(decodeRefs(d, n, "role or host name")) }

func (in *Inventory) decodeNode(d *decoder, n *yaml.Node) {
	*in = Inventory(decodeRefs(d, n, "inventory file"))
}

func (ds *Days) decodeNode(d *decoder, n *yaml.Node) { *ds = Days(decodeRefs(d, n, "day")) }

func decodeRefs(d *decoder, n *yaml.Node, what string) []Ref {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "" {
			d.errorf(posOf(n), "empty %s", what)
			return nil
		}
		return []Ref{{n.Value, posOf(n)}}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(posOf(n), "expected a %s or a list of them, got %s", what, kindName(n))
		return nil
	}
	var out []Ref
	for _, item := range n.Content {
		item = d.resolve(item)
		if item == nil {
			return out
		}
		if item.Kind != yaml.ScalarNode || item.Value == "" {
			d.errorf(posOf(item), "expected a %s, got %s", what, kindName(item))
			continue
		}
		out = append(out, Ref{item.Value, posOf(item)})
	}
	return out
}

// eachKey walks a mapping's keys, reporting duplicates and non-string keys.
func (d *decoder) eachKey(n *yaml.Node, what string, fn func(key string, kp Pos, val *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), "expected a mapping of %s, got %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for _, p := range d.pairs(n) {
		key := d.resolve(p.key)
		if key == nil {
			return
		}
		if key.Kind != yaml.ScalarNode || key.Value == "" {
			d.errorf(posOf(key), "a %s name must be a non-empty string, got %s", what, kindName(key))
			continue
		}
		if seen[key.Value] {
			d.errorf(posOf(key), "duplicate %s %q", what, key.Value)
			continue
		}
		seen[key.Value] = true
		fn(key.Value, posOf(key), p.val)
	}
}

func (d *decoder) stringMap(n *yaml.Node, what string) []Var {
	var out []Var
	d.eachKey(n, what, func(key string, _ Pos, val *yaml.Node) {
		val = d.resolve(val)
		if val == nil {
			return
		}
		if val.Kind != yaml.ScalarNode {
			d.errorf(posOf(val), "%s %q: expected a string, got %s", what, key, kindName(val))
			return
		}
		out = append(out, Var{Name: key, Value: val.Value, Pos: posOf(val)})
	})
	return out
}

func (m *StringMap) decodeNode(d *decoder, n *yaml.Node) { *m = d.stringMap(n, "key") }

func (as *Artifacts) decodeNode(d *decoder, n *yaml.Node) {
	d.eachKey(n, "artifact", func(key string, kp Pos, val *yaml.Node) {
		a := &Artifact{Name: key}
		d.decode(val, reflect.ValueOf(a).Elem())
		if a.Pos.Line == 0 {
			a.Pos = kp
		}
		*as = append(*as, a)
	})
}

func (hs *Hosts) decodeNode(d *decoder, n *yaml.Node) {
	d.eachKey(n, "host", func(key string, kp Pos, val *yaml.Node) {
		h := &Host{Name: key}
		d.decode(val, reflect.ValueOf(h).Elem())
		if h.Pos.Line == 0 {
			h.Pos = kp
		}
		*hs = append(*hs, h)
	})
}

func (es *Environments) decodeNode(d *decoder, n *yaml.Node) {
	d.eachKey(n, "environment", func(key string, kp Pos, val *yaml.Node) {
		val = d.resolve(val)
		if val == nil {
			return
		}
		if val.Kind != yaml.MappingNode && val.ShortTag() != "!!null" {
			d.errorf(posOf(val), "environment %q: expected a mapping of overrides, got %s", key, kindName(val))
			return
		}
		*es = append(*es, &Environment{Name: key, Pos: kp, node: val})
	})
}
