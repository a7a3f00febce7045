package inventory

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/values"
	"gopkg.in/yaml.v3"
)

// Host is one target found in an inventory.
type Host struct {
	Name    string
	Address string // ansible_host (empty when not given)
	User    string // ansible_user
	Port    int    // ansible_port (0 when not given)
	// Transport is "local" for a host with ansible_connection=local (run
	// on this machine, as Ansible does), else empty (the plan's default).
	Transport string
	Roles     []string          // the groups it belongs to, including parent groups via [x:children], sorted, excluding "all" and "ungrouped"
	Vars      map[string]string // all other host vars (group vars merged in: host vars win over child-group vars win over parent-group vars; `all` vars lowest)
	Line      int               // line where the host was first defined (1-based)
}

// Inventory is the result of parsing one inventory file.
type Inventory struct {
	Hosts []Host // in the order hosts first appear in the file
	// Warnings are what Ansible warns about and skips (an unknown key in a
	// YAML group, a group that is not a mapping, an unsupported
	// ansible_connection).
	Warnings []*Error
}

// Error carries the position of a problem. Error() returns "line L: message"
// (the caller prefixes the file name). Col is 1-based and 0 when unknown.
type Error struct {
	// File is the group_vars or host_vars file the problem is in, relative
	// to the inventory's directory; empty for the inventory itself.
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

func errAt(line, col int, format string, args ...any) *Error {
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses an inventory, choosing the format from the file name (".yaml"
// or ".yml" means YAML) or else from the content: a YAML mapping whose values
// are group definitions is YAML, anything else is INI. As in Ansible, a
// ".yml" or ".yaml" file that is not a YAML mapping but reads as INI is INI.
func Parse(name string, data []byte) (*Inventory, error) {
	return ParseWithVars(name, data, nil)
}

// ParseWithVars is Parse that also reads, as Ansible does, the group_vars/
// and host_vars/ directories in dir, the inventory's directory (nil: none).
func ParseWithVars(name string, data []byte, dir fs.FS) (*Inventory, error) {
	b, err := read(name, data)
	if err != nil {
		return nil, err
	}
	if dir != nil {
		if err := b.readVarsDirs(dir); err != nil {
			return nil, err
		}
	}
	return b.build()
}

func read(name string, data []byte) (*builder, error) {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") {
		b, err := readYAML(data)
		if err == nil {
			return b, nil
		}
		if root, yerr := decodeYAML(data); yerr != nil || root == nil || root.Kind != yaml.MappingNode {
			if ib, ierr := readINI(data); ierr == nil {
				return ib, nil
			}
		}
		return nil, err
	}
	if looksLikeYAML(data) {
		return readYAML(data)
	}
	return readINI(data)
}

const (
	groupAll       = "all"
	groupUngrouped = "ungrouped"

	// maxHosts bounds what host ranges may expand to, so that a typo such
	// as web[1:99999999] is an error instead of an exhausted machine.
	maxHosts = 100000
)

// varDef is one var's value and where it was set.
type varDef struct {
	value     string
	line, col int
}

type group struct {
	name     string
	vars     map[string]varDef
	fileVars map[string]varDef // from group_vars/ beside the inventory
	priority int               // ansible_group_priority
	parents  []string
	children []childRef
}

type childRef struct {
	name      string
	line, col int
}

type hostDef struct {
	name     string
	line     int
	groups   []string // direct groups, in order of appearance, no duplicates
	vars     map[string]varDef
	fileVars map[string]varDef // from host_vars/ beside the inventory
	address  string            // the IPv6 address the host was written as, if so
	ansible  string            // its name in Ansible when that is not name
}

// builder collects groups and hosts from either format; build resolves them.
type builder struct {
	groups    map[string]*group
	hosts     map[string]*hostDef
	hostOrder []string
	entries   int // host names produced by patterns so far, repeats included
	warnings  []*Error
}

func (b *builder) warnf(line, col int, format string, args ...any) {
	b.warnings = append(b.warnings, errAt(line, col, format, args...))
}

func newBuilder() *builder {
	b := &builder{groups: map[string]*group{}, hosts: map[string]*hostDef{}}
	b.group(groupAll)
	b.group(groupUngrouped)
	return b
}

func (b *builder) group(name string) *group {
	g := b.groups[name]
	if g == nil {
		g = &group{name: name, vars: map[string]varDef{}, fileVars: map[string]varDef{}}
		b.groups[name] = g
	}
	return g
}

// expand parses a host pattern, charging its names against maxHosts so that
// repeating a large range cannot make parsing slow.
func (b *builder) expand(pattern string, line, col int) (hostPattern, error) {
	hp, err := parseHostPattern(pattern)
	if err != nil {
		return hp, errAt(line, col, "%s", err.Error())
	}
	b.entries += len(hp.names)
	if b.entries > maxHosts {
		return hp, errAt(line, col, "too many host entries (more than %d)", maxHosts)
	}
	return hp, nil
}

// addHosts records that the hosts of hp are in group, defining them if
// new, and sets vars on them.
func (b *builder) addHosts(hp hostPattern, groupName string, vars map[string]varDef, line, col int) error {
	for _, name := range hp.names {
		h := b.hosts[name]
		if h != nil && h.address != hp.address {
			return errAt(line, col, "host %q: %s and %s both make this name", name, orName(h), orName(&hostDef{name: name, address: hp.address}))
		}
		isNew := h == nil
		h = b.addHost(name, groupName, line)
		h.address, h.ansible = hp.address, hp.ansible
		if isNew && hp.port != "" {
			// As in Ansible, a ":port" suffix counts where the host is
			// first defined (later suffixes are ignored); vars override it.
			h.vars["ansible_port"] = varDef{value: hp.port, line: line, col: col}
		}
		maps.Copy(h.vars, vars)
	}
	return nil
}

func orName(h *hostDef) string {
	if h.address != "" {
		return "the IPv6 address " + h.address
	}
	return "the host name " + h.name
}

// addHost records that host name is in group, defining the host if new.
func (b *builder) addHost(name, groupName string, line int) *hostDef {
	h := b.hosts[name]
	if h == nil {
		h = &hostDef{name: name, line: line, vars: map[string]varDef{}, fileVars: map[string]varDef{}}
		b.hosts[name] = h
		b.hostOrder = append(b.hostOrder, name)
	}
	b.group(groupName)
	if !slices.Contains(h.groups, groupName) {
		h.groups = append(h.groups, groupName)
	}
	return h
}

func (b *builder) addChild(parent, child string, line, col int) error {
	if child == groupAll {
		return errAt(line, col, "group %q cannot be a child of %q", groupAll, parent)
	}
	p, c := b.group(parent), b.group(child)
	if !slices.Contains(c.parents, parent) {
		c.parents = append(c.parents, parent)
		p.children = append(p.children, childRef{name: child, line: line, col: col})
	}
	return nil
}

// Connection vars: Ansible reads the old ansible_ssh_* name first, so it
// wins over the new one wherever each is set.
var (
	addressVars = []string{"ansible_ssh_host", "ansible_host"}
	userVars    = []string{"ansible_ssh_user", "ansible_user"}
	portVars    = []string{"ansible_ssh_port", "ansible_port"}
)

const (
	varPriority   = "ansible_group_priority"
	varConnection = "ansible_connection"
)

// setVar sets key in vars, checking addresses and ports.
func setVar(vars map[string]varDef, key string, v varDef) error {
	if !validVarName(key) {
		return errAt(v.line, v.col, "invalid var name %q", key)
	}
	if err := values.Text("var "+key, v.value, 1<<20); err != nil {
		return errAt(v.line, v.col, "%s", err) // NUL, not UTF-8
	}
	if slices.Contains(addressVars, key) {
		if err := values.Address(key, v.value); err != nil {
			return errAt(v.line, v.col, "%s", err)
		}
	}
	if slices.Contains(portVars, key) {
		if _, ok := parsePort(v.value); !ok {
			return errAt(v.line, v.col, "%s %q: must be an integer from 1 to 65535", key, v.value)
		}
	}
	vars[key] = v
	return nil
}

// setGroupVar sets a group var: ansible_group_priority orders the group
// among its siblings (as in Ansible) instead of becoming a var.
func setGroupVar(g *group, vars map[string]varDef, key string, v varDef) error {
	if key != varPriority {
		return setVar(vars, key, v)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.value))
	if err != nil || n < -1000000 || n > 1000000 {
		return errAt(v.line, v.col, "%s %q: must be an integer", varPriority, v.value)
	}
	g.priority = n
	return nil
}

func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= 65535
}

// validName reports whether s can name a host or group: non-empty, no
// whitespace, control characters or brackets.
func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '[' || r == ']' || r == '=' {
			return false
		}
	}
	return true
}

// validHostName is the plan's own name rule (values.Name): an inventory
// host is a target like any other, and its name reaches scripts as
// host.name and GOLIVE_HOST.
func validHostName(s string) bool { return values.IsName(s) }

// validGroupName is the name rule too: groups become roles, which on:
// selects and host.roles renders.
func validGroupName(s string) bool { return values.IsName(s) }

func validVarName(s string) bool { return validName(s) }

// build resolves groups into the final list of hosts.
func (b *builder) build() (*Inventory, error) {
	if err := b.checkCycles(); err != nil {
		return nil, err
	}
	depth := map[string]int{groupAll: 0}
	for name := range b.groups {
		b.depth(name, depth)
	}
	inv := &Inventory{Hosts: make([]Host, 0, len(b.hostOrder))}
	cache := map[string]*groupVars{}
	for _, name := range b.hostOrder {
		inv.Hosts = append(inv.Hosts, b.resolve(b.hosts[name], depth, cache))
	}
	inv.Warnings = b.warnings
	return inv, nil
}

// checkCycles reports the first [group:children] loop, in definition order.
func (b *builder) checkCycles() error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		state[name] = visiting
		path = append(path, name)
		for _, c := range b.groups[name].children {
			switch state[c.name] {
			case visiting:
				i := slices.Index(path, c.name)
				loop := append(slices.Clone(path[i:]), c.name)
				return errAt(c.line, c.col, "group %q: children form a cycle: %s", c.name, strings.Join(loop, " -> "))
			case unvisited:
				if err := visit(c.name); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	names := make([]string, 0, len(b.groups))
	for name := range b.groups {
		names = append(names, name)
	}
	slices.Sort(names)
	// Visit in an order that reports the cycle edge appearing first in the file.
	slices.SortStableFunc(names, func(x, y string) int { return b.firstChildLine(x) - b.firstChildLine(y) })
	for _, name := range names {
		if state[name] == unvisited {
			if err := visit(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *builder) firstChildLine(name string) int {
	if c := b.groups[name].children; len(c) > 0 {
		return c[0].line
	}
	return 0
}

// depth is the length of the longest parent chain from "all" to name.
func (b *builder) depth(name string, memo map[string]int) int {
	if d, ok := memo[name]; ok {
		return d
	}
	d := 1
	for _, p := range b.groups[name].parents {
		d = max(d, b.depth(p, memo)+1)
	}
	memo[name] = d
	return d
}

// groupVars is what a set of direct groups resolves to: the roles and the
// merged group vars.
type groupVars struct {
	roles []string
	vars  map[string]varDef
}

func (b *builder) resolve(h *hostDef, depth map[string]int, cache map[string]*groupVars) Host {
	direct := slices.DeleteFunc(slices.Clone(h.groups), func(g string) bool {
		return g == groupAll || g == groupUngrouped
	})
	if len(direct) == 0 {
		direct = []string{groupUngrouped}
	}
	slices.Sort(direct)
	key := strings.Join(direct, "\x00")
	gv := cache[key]
	if gv == nil {
		gv = b.resolveGroups(direct, depth)
		cache[key] = gv
	}
	vars := maps.Clone(gv.vars)
	maps.Copy(vars, h.vars)
	maps.Copy(vars, h.fileVars)
	out := Host{Name: h.name, Roles: slices.Clone(gv.roles), Vars: map[string]string{}, Line: h.line, Address: h.address}
	if v, ok := first(vars, addressVars); ok {
		out.Address = v
	}
	out.User, _ = first(vars, userVars)
	if v, ok := first(vars, portVars); ok {
		out.Port, _ = parsePort(v) // checked by setVar
	}
	if c, ok := vars[varConnection]; ok {
		switch c.value {
		case "local":
			out.Transport = "local"
		case "ssh", "smart", "paramiko", "paramiko_ssh":
		default:
			b.warnf(c.line, c.col, "host %q: ansible_connection %q is not supported; golive reaches it over ssh", h.name, c.value)
		}
	}
	for k, v := range vars {
		switch k {
		case "ansible_host", "ansible_ssh_host", "ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port", varConnection:
		default:
			out.Vars[k] = v.value
		}
	}
	return out
}

// first returns the value of the first of names set in vars.
func first(vars map[string]varDef, names []string) (string, bool) {
	for _, n := range names {
		if v, ok := vars[n]; ok {
			return v.value, true
		}
	}
	return "", false
}

// resolveGroups finds the ancestors of the direct groups and merges their
// vars in Ansible's default order (its VARIABLE_PRECEDENCE): the
// inventory's vars of "all", then of the other groups ordered by depth,
// then ansible_group_priority, then name (so that children win); then the
// group_vars/ files the same way, "all" first: any group_vars file beats
// any group var written in the inventory.
func (b *builder) resolveGroups(direct []string, depth map[string]int) *groupVars {
	member := map[string]bool{groupAll: true}
	queue := slices.Clone(direct)
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if member[g] {
			continue
		}
		member[g] = true
		queue = append(queue, b.groups[g].parents...)
	}
	delete(member, groupAll)
	groups := slices.Collect(maps.Keys(member))
	slices.SortFunc(groups, func(x, y string) int {
		if depth[x] != depth[y] {
			return depth[x] - depth[y]
		}
		if px, py := b.groups[x].priority, b.groups[y].priority; px != py {
			return px - py
		}
		return strings.Compare(x, y)
	})
	gv := &groupVars{roles: []string{}, vars: map[string]varDef{}}
	all := b.groups[groupAll]
	maps.Copy(gv.vars, all.vars)
	for _, g := range groups {
		maps.Copy(gv.vars, b.groups[g].vars)
		if g != groupUngrouped {
			gv.roles = append(gv.roles, g)
		}
	}
	maps.Copy(gv.vars, all.fileVars)
	for _, g := range groups {
		maps.Copy(gv.vars, b.groups[g].fileVars)
	}
	slices.Sort(gv.roles)
	return gv
}

// checkText rejects input that is not UTF-8 text, naming the first bad line.
func checkText(data []byte) error {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return errAt(line, 0, "invalid UTF-8 (inventories must be UTF-8 text)")
		case r == '\n':
			line++
		case r == '\uFEFF' && i == 0:
		case r != '\t' && r != '\r' && (unicode.IsControl(r) || r == '\uFEFF'):
			return errAt(line, 0, "invalid control character %U", r)
		}
		i += size
	}
	return nil
}
