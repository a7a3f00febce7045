package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse checks that any input either parses into a consistent inventory
// or fails with a positioned *Error, and never panics.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "h1\n", "[web]\nweb[01:10:3].x ansible_port=22 a=\"b c\"\n[web:vars]\nk='v'\n",
		"[a:children]\nb\n[b:children]\na\n", "h[a:c][1:2]:2222\n", "[x:foo]\n",
		"all:\n  hosts: {h: {ansible_host: a, n: 1}}\n  children: {w: {hosts: {x: }, vars: {p: 1}}}\n",
		"a: &a {hosts: {h: }}\nb: {children: {c: *a}}\n", "w: {vars: {<<: [{a: 1}, {b: 2}]}}\n",
		"\uFEFFh1 x=1 # c\r\n;c\r\n",
		"[g:vars]\na=\"'x#y'\" # c\nb=0x_1F\nc=[1, (2,), {3: b'\\x41'}]\nd=r'\\'\ne='''\"t\"'''\nansible_group_priority=-3\n",
		"h1 p=\"\\u00e9\\U0001F600\\N{X}\" q=1+2j r=-0o7 s=1e5j t=.5\n[2001:db8::2]:22 ansible_connection=local\n",
		"w:\n  hosts: h1\n  children: c\n  junk: 1\n  vars: {l: [1, {a: b}], ansible_group_priority: 2}\nx: text\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		iniValue(string(data)) // must not panic
		for name, parse := range map[string]func([]byte) (*Inventory, error){
			"auto": func(b []byte) (*Inventory, error) { return Parse("inventory", b) },
			"ini":  ParseINI,
			"yaml": ParseYAML,
		} {
			inv, err := parse(data)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Line < 1 || e.Msg == "" {
					t.Fatalf("%s: error %q (%T) has no position", name, err, err)
				}
				continue
			}
			checkInventory(t, name, inv)
		}
	})
}

func checkInventory(t *testing.T, format string, inv *Inventory) {
	seen := map[string]bool{}
	for _, h := range inv.Hosts {
		switch {
		case !validName(h.Name) || seen[h.Name]:
			t.Fatalf("%s: bad or duplicate host name %q", format, h.Name)
		case h.Line < 1:
			t.Fatalf("%s: host %q has line %d", format, h.Name, h.Line)
		case h.Port < 0 || h.Port > 65535:
			t.Fatalf("%s: host %q has port %d", format, h.Name, h.Port)
		case !slices.IsSorted(h.Roles) || slices.Contains(h.Roles, groupAll) || slices.Contains(h.Roles, groupUngrouped):
			t.Fatalf("%s: host %q has roles %q", format, h.Name, h.Roles)
		case h.Vars == nil || h.Roles == nil:
			t.Fatalf("%s: host %q has nil vars or roles", format, h.Name)
		}
		for _, k := range []string{"ansible_host", "ansible_user", "ansible_port", "ansible_ssh_host", "ansible_ssh_user", "ansible_ssh_port"} {
			if _, ok := h.Vars[k]; ok {
				t.Fatalf("%s: host %q keeps %s in Vars", format, h.Name, k)
			}
		}
		seen[h.Name] = true
	}
}
