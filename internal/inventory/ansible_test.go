package inventory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/values"
)

// refusals are the inventories of the corpus that golive refuses on
// purpose where Ansible reads them: the substring of golive's error, and
// why.
var refusals = map[string]struct{ err, why string }{
	"corpus/ansible-unicode.yml": {`invalid host name "p\u0159\u00edbor"`,
		"host and group names follow the plan's name rule (ASCII letters, digits, '.', '_', '-'): they reach scripts as host.name and host.roles"},
	"corpus/ansible-delegate-to-inventory": {`ansible_host "{{myhost}}"`,
		"golive does not evaluate Jinja templates: an address must be an address"},
	"corpus/ansible-inventory-nested.yml": {"inventory plugin's configuration",
		"inventory plugins (here constructed) are programs, not inventories"},
	"edge/names-outside-the-rule.ini": {`invalid host name "web$1"`,
		"host names follow the plan's name rule: they reach scripts as host.name"},
}

// TestAnsibleDifferential reads every inventory under testdata/corpus
// (public ones, see its README) and testdata/edge (hand-written) with
// golive and with ansible-inventory --list, and compares what a target
// is made of: hosts, addresses, users, ports, groups, the local
// connection and the vars. The deliberate differences: golive carries
// vars as text (see iniValue), derives a name for a host written as an
// IPv6 address (IPv6Name), and refuses the names in refusals.
func TestAnsibleDifferential(t *testing.T) {
	bin, err := exec.LookPath("ansible-inventory")
	if err != nil {
		t.Skip("ansible-inventory is not installed (Debian package ansible-core; ./scripts/test installs it): skipping the differential test")
	}
	python := interpreter(t, bin)
	var files []string
	for _, dir := range []string{"testdata/corpus", "testdata/edge"} {
		files = append(files, inventoriesIn(t, dir)...)
	}
	lists := ansibleLists(t, python, files)
	checkBatchIsCLI(t, bin, files, lists)
	for i, file := range files {
		rel, _ := filepath.Rel("testdata", file)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			inv, gerr := ParseWithVars(file, data, os.DirFS(filepath.Dir(file)))
			if r, ok := refusals[filepath.ToSlash(rel)]; ok {
				if gerr == nil || !strings.Contains(gerr.Error(), r.err) {
					t.Fatalf("golive: err = %v, want one with %q (deliberate: %s)", gerr, r.err, r.why)
				}
				return
			}
			al := lists[i]
			if al.err != "" {
				if gerr == nil {
					t.Fatalf("ansible-inventory refuses it (%s) but golive reads %d hosts", al.err, len(inv.Hosts))
				}
				return
			}
			if gerr != nil {
				t.Fatalf("golive refuses what Ansible reads: %v", gerr)
			}
			compareWithAnsible(t, inv, al)
		})
	}
}

// interpreter is the Python that runs ansible-inventory (its #! line).
func interpreter(t *testing.T, bin string) string {
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 || !strings.Contains(fields[0], "python") {
		t.Skipf("ansible-inventory (%s) does not start with a python #! line: %q", bin, line)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		p, err := exec.LookPath(fields[1])
		if err != nil {
			t.Skip(err)
		}
		return p
	}
	return fields[0]
}

// inventoriesIn lists the inventories in dir: its files (but the README),
// and the files at the top of its subdirectories (which may hold
// group_vars/ and host_vars/ too).
func inventoriesIn(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			sub, err := os.ReadDir(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sub {
				if !s.IsDir() {
					out = append(out, filepath.Join(p, s.Name()))
				}
			}
		case e.Name() != "README.md":
			out = append(out, p)
		}
	}
	return out
}

// ansibleList is ansible-inventory --list's output for one inventory.
type ansibleList struct {
	err      string                                        // why Ansible refused it
	hostvars map[string]map[string]json.RawMessage         // _meta.hostvars
	groups   map[string]struct{ Hosts, Children []string } // every group
}

// ansibleLists runs ansible-inventory --list on every file, in one Python
// process (testdata/ansible_list.py) because it is slow to start.
func ansibleLists(t *testing.T, python string, files []string) []ansibleList {
	out := t.TempDir()
	script, _ := filepath.Abs("testdata/ansible_list.py")
	args := []string{script, out}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		args = append(args, abs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = t.TempDir() // no playbook group_vars: only the inventory's own
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "ANSIBLE_CONFIG="+filepath.Join(home, "none.cfg"),
		"ANSIBLE_INVENTORY_UNPARSED_FAILED=true", "ANSIBLE_LOCAL_TEMP="+home, "ANSIBLE_NOCOLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", python, script, err, stderr.String())
	}
	lists := make([]ansibleList, len(files))
	for i := range files {
		base := filepath.Join(out, strconv.Itoa(i))
		if e, err := os.ReadFile(base + ".err"); err == nil {
			lists[i].err = strings.TrimSpace(string(e))
			continue
		}
		data, err := os.ReadFile(base + ".json")
		if err != nil {
			t.Fatalf("%s: no output from ansible-inventory: %v\n%s", files[i], err, stderr.String())
		}
		lists[i] = decodeAnsibleList(t, files[i], data)
	}
	return lists
}

// checkBatchIsCLI runs the real ansible-inventory command on one
// inventory (with group_vars beside it) and checks that the batch run gave
// the same output.
func checkBatchIsCLI(t *testing.T, bin string, files []string, lists []ansibleList) {
	t.Helper()
	const probe = "testdata/edge/with-vars/inventory.ini"
	i := slices.Index(files, filepath.FromSlash(probe))
	if i < 0 {
		t.Fatalf("%s is not in the corpus", probe)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	abs, _ := filepath.Abs(probe)
	cmd := exec.CommandContext(ctx, bin, "-i", abs, "--list")
	cmd.Dir = t.TempDir()
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "ANSIBLE_CONFIG="+filepath.Join(home, "none.cfg"), "ANSIBLE_LOCAL_TEMP="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -i %s --list: %v", bin, probe, err)
	}
	if cli := decodeAnsibleList(t, probe, out); !reflect.DeepEqual(cli, lists[i]) {
		t.Fatalf("ansible-inventory --list and the batch run differ on %s:\n%+v\n%+v", probe, cli, lists[i])
	}
}

func decodeAnsibleList(t *testing.T, file string, data []byte) ansibleList {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: ansible-inventory output: %v", file, err)
	}
	al := ansibleList{groups: map[string]struct{ Hosts, Children []string }{}}
	for k, v := range raw {
		if k == "_meta" {
			var meta struct {
				Hostvars map[string]map[string]json.RawMessage `json:"hostvars"`
			}
			if err := json.Unmarshal(v, &meta); err != nil {
				t.Fatalf("%s: _meta: %v", file, err)
			}
			al.hostvars = meta.Hostvars
			continue
		}
		var g struct{ Hosts, Children []string }
		if err := json.Unmarshal(v, &g); err != nil {
			t.Fatalf("%s: group %s: %v", file, k, err)
		}
		al.groups[k] = g
	}
	return al
}

// golive's name for a host Ansible names name.
func goliveName(name string) string {
	if !values.IsName(name) && strings.Contains(name, ":") {
		return IPv6Name(name)
	}
	return name
}

func compareWithAnsible(t *testing.T, inv *Inventory, al ansibleList) {
	t.Helper()
	// Every host Ansible lists, with the groups it is in (with ancestors).
	parents := map[string][]string{}
	direct := map[string][]string{}
	for name, g := range al.groups {
		for _, c := range g.Children {
			parents[c] = append(parents[c], name)
		}
		for _, h := range g.Hosts {
			direct[h] = append(direct[h], name)
		}
	}
	for h := range al.hostvars {
		if _, ok := direct[h]; !ok {
			direct[h] = nil
		}
	}
	got := map[string]Host{}
	for _, h := range inv.Hosts {
		got[h.Name] = h
	}
	if len(got) != len(direct) {
		var names []string
		for n := range direct {
			names = append(names, goliveName(n))
		}
		slices.Sort(names)
		t.Errorf("golive has %d hosts, Ansible %d: %v", len(got), len(direct), names)
	}
	for name, groups := range direct {
		h, ok := got[goliveName(name)]
		if !ok {
			t.Errorf("host %s: missing in golive", name)
			continue
		}
		want := map[string]bool{}
		for queue := slices.Clone(groups); len(queue) > 0; queue = queue[1:] {
			if g := queue[0]; !want[g] {
				want[g] = true
				queue = append(queue, parents[g]...)
			}
		}
		delete(want, groupAll)
		delete(want, groupUngrouped)
		var roles []string
		for g := range want {
			roles = append(roles, g)
		}
		slices.Sort(roles)
		if !slices.Equal(roles, h.Roles) && !(len(roles) == 0 && len(h.Roles) == 0) {
			t.Errorf("host %s: roles %v, Ansible's groups %v", name, h.Roles, roles)
		}
		compareHostVars(t, name, h, al.hostvars[name])
	}
}

// connectionVars are the vars golive turns into settings.
var connectionVars = map[string]bool{"ansible_host": true, "ansible_ssh_host": true, "ansible_user": true,
	"ansible_ssh_user": true, "ansible_port": true, "ansible_ssh_port": true, "ansible_connection": true}

func compareHostVars(t *testing.T, name string, h Host, vars map[string]json.RawMessage) {
	t.Helper()
	text := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := vars[k]; ok {
				s, _ := scalarText(v)
				return s
			}
		}
		return ""
	}
	wantAddr := text("ansible_ssh_host", "ansible_host")
	if wantAddr == "" {
		wantAddr = name
	}
	gotAddr := h.Address
	if gotAddr == "" {
		gotAddr = h.Name
	}
	if gotAddr != wantAddr {
		t.Errorf("host %s: address %q, Ansible's %q", name, gotAddr, wantAddr)
	}
	if want := text("ansible_ssh_user", "ansible_user"); h.User != want {
		t.Errorf("host %s: user %q, Ansible's %q", name, h.User, want)
	}
	wantPort := 0
	if p := text("ansible_ssh_port", "ansible_port"); p != "" {
		wantPort, _ = strconv.Atoi(p)
	}
	if h.Port != wantPort {
		t.Errorf("host %s: port %d, Ansible's %d", name, h.Port, wantPort)
	}
	if local := text("ansible_connection") == "local"; local != (h.Transport == "local") {
		t.Errorf("host %s: transport %q, Ansible's ansible_connection %q", name, h.Transport, text("ansible_connection"))
	}
	for k, raw := range vars {
		if connectionVars[k] {
			continue
		}
		g, ok := h.Vars[k]
		if !ok {
			t.Errorf("host %s: var %s missing (Ansible: %s)", name, k, raw)
			continue
		}
		if want, ok := scalarText(raw); ok {
			if g != want {
				t.Errorf("host %s: var %s = %q, Ansible's %s", name, k, g, raw)
			}
			continue
		}
		if raw[0] == '[' || raw[0] == '{' {
			// A structure: golive carries YAML's as JSON text; an INI
			// literal stays as written (not JSON) and is not compared.
			var a, b any
			if json.Unmarshal([]byte(g), &b) == nil && json.Unmarshal(raw, &a) == nil && !reflect.DeepEqual(a, b) {
				t.Errorf("host %s: var %s = %s, Ansible's %s", name, k, g, raw)
			}
		}
	}
	for k := range h.Vars {
		if _, ok := vars[k]; !ok {
			t.Errorf("host %s: var %s = %q, which Ansible does not have", name, k, h.Vars[k])
		}
	}
}

// scalarText is the text golive must carry for a string or an integer
// Ansible holds; false for anything else (floats, booleans, null and
// structures, which golive keeps as written).
func scalarText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	n := string(raw)
	if _, err := strconv.ParseInt(n, 10, 64); err == nil {
		return n, true
	}
	return "", false
}
