package inventory

import (
	"strings"
	"testing"
	"testing/fstest"
)

// What Python's ast.literal_eval (and so Ansible's INI reader) makes of
// values, checked against Python 3.11; golive keeps non-string literals
// as written (integers in decimal).
func TestINIValue(t *testing.T) {
	for _, tt := range iniValueCases {
		if got := iniValue(tt.in); got != tt.want {
			t.Errorf("iniValue(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var iniValueCases = []struct{ in, want string }{
	{"2222 # ssh", "2222"},
	{`"a" # c`, "a"},
	{"foo # bar", "foo # bar"},
	{"True", "True"},
	{"0x10", "16"},
	{"0o17", "15"},
	{"0b101", "5"},
	{"1_000", "1000"},
	{"010", "010"},
	{"00", "0"},
	{"1.10", "1.10"},
	{"[1, 2] # x", "[1, 2]"},
	{`'a' "b"`, "ab"},
	{"-5", "-5"},
	{"+5", "5"},
	{"--5", "--5"},
	{"1+2j", "1+2j"},
	{"None", "None"},
	{`{"a": 1}`, `{"a": 1}`},
	{`b"x"`, "x"},
	{`r"\n"`, `\n`},
	{`"\x41\u00e9\t"`, "Aé\t"},
	{`"\d"`, `\d`},
	{`"\101"`, "A"},
	{`"""tri"ple"""`, `tri"ple`},
	{`f"x"`, `f"x"`},
	{`"a" + "b"`, `"a" + "b"`},
	{"(1)", "1"},
	{"()", "()"},
	{"1, 2", "1, 2"},
	{"set()", "set()"},
	{`"'03#pa33w0rd'"`, "'03#pa33w0rd'"},
	{`'03#pa33w0rd'`, "03#pa33w0rd"},
	{"", ""},
	{"a=b", "a=b"},
	{"1abc", "1abc"},
	{`"unterminated`, `"unterminated`},
	{`b"é"`, `b"é"`},
	{`"a" b"b"`, `"a" b"b"`},
	{`"\N{BULLET}"`, `"\N{BULLET}"`}, // Python decodes it; golive keeps it as written
	{"[1, [2, {3: 4}], (5,)]", "[1, [2, {3: 4}], (5,)]"},
	{"[1,", "[1,"},
	{"{1: }", "{1: }"},
}

func TestAnsibleSemantics(t *testing.T) {
	tests := []struct {
		name, file, in string
		want           []Host
	}{
		{"(1) a trailing comment after a literal in [group:vars] goes", "hosts",
			"[web]\nw1\n[web:vars]\nansible_port=2222 # ssh\nansible_user=deploy # a word is not a literal\n",
			[]Host{{Name: "w1", Port: 2222, User: "deploy # a word is not a literal", Roles: []string{"web"}, Vars: map[string]string{}, Line: 2}}},
		{"(2) quotes inside quotes on a host line", "hosts",
			"h1 ansible_ssh_pass=\"'03#pa33w0rd'\" n=0x1F cut=a#b\n",
			[]Host{{Name: "h1", Roles: []string{}, Vars: map[string]string{"ansible_ssh_pass": "03#pa33w0rd", "n": "31", "cut": "a"}, Line: 1}}},
		{"(3) ansible_ssh_* win at any level", "hosts",
			"[web]\nw1 ansible_host=10.0.0.1 ansible_user=new ansible_port=22\n[web:vars]\nansible_ssh_host=10.0.0.9\nansible_ssh_user=old\nansible_ssh_port=2200\n",
			[]Host{{Name: "w1", Address: "10.0.0.9", User: "old", Port: 2200, Roles: []string{"web"}, Vars: map[string]string{}, Line: 2}}},
		{"(4) ansible_group_priority orders groups and is no var", "hosts",
			"[a]\nh1\n[b]\nh1\n[a:vars]\nansible_group_priority=10\ncolor=red\n[b:vars]\ncolor=blue\n",
			[]Host{{Name: "h1", Roles: []string{"a", "b"}, Vars: map[string]string{"color": "red"}, Line: 2}}},
		{"(5) IPv6 hosts: bracketed with a port, bare", "hosts",
			"[web]\n[2001:db8::2]:2222\n2001:db8::3 ansible_user=ops\n[192.0.2.9]:2200\n",
			[]Host{
				{Name: "2001-db8--2", Address: "2001:db8::2", Port: 2222, Roles: []string{"web"}, Vars: map[string]string{}, Line: 2},
				{Name: "2001-db8--3", Address: "2001:db8::3", User: "ops", Roles: []string{"web"}, Vars: map[string]string{}, Line: 3},
				{Name: "192.0.2.9", Port: 2200, Roles: []string{"web"}, Vars: map[string]string{}, Line: 4},
			}},
		{"(5) IPv6 hosts in YAML, ansible_host wins over the address", "hosts.yml",
			"web:\n  hosts:\n    '[2001:db8::2]:2222':\n    '::1': {ansible_host: 192.0.2.1}\n",
			[]Host{
				{Name: "2001-db8--2", Address: "2001:db8::2", Port: 2222, Roles: []string{"web"}, Vars: map[string]string{}, Line: 3},
				{Name: "ip6--1", Address: "192.0.2.1", Roles: []string{"web"}, Vars: map[string]string{}, Line: 4},
			}},
		{"(6) YAML string shortcuts for hosts and children", "hosts.yml",
			"all:\n  children:\n    web:\n      hosts: w1\n    front:\n      children: web\n",
			[]Host{{Name: "w1", Roles: []string{"front", "web"}, Vars: map[string]string{}, Line: 4}}},
		{"(7) INI text in a .yml file", "hosts.yml",
			"[web]\nw1 ansible_host=192.0.2.1\n",
			[]Host{{Name: "w1", Address: "192.0.2.1", Roles: []string{"web"}, Vars: map[string]string{}, Line: 2}}},
		{"(8) YAML lists and mappings as JSON text", "hosts.yml",
			"all:\n  vars:\n    ntp: [a, b]\n  hosts:\n    h1:\n      labels: {tier: [front], n: 1, ok: true, html: '<&>'}\n      none: ~\n",
			[]Host{{Name: "h1", Roles: []string{}, Vars: map[string]string{"ntp": `["a","b"]`,
				"labels": `{"html":"<&>","n":1,"ok":true,"tier":["front"]}`, "none": ""}, Line: 5}}},
		{"(11) ansible_connection=local is the local transport", "hosts",
			"[local]\nlocalhost ansible_connection=local\nr1 ansible_connection=ssh\n",
			[]Host{
				{Name: "localhost", Transport: "local", Roles: []string{"local"}, Vars: map[string]string{}, Line: 2},
				{Name: "r1", Roles: []string{"local"}, Vars: map[string]string{}, Line: 3},
			}},
		{"a later port suffix is ignored, as in Ansible", "hosts",
			"[a]\nw1:2200\n[b]\nw1:2300\n",
			[]Host{{Name: "w1", Port: 2200, Roles: []string{"a", "b"}, Vars: map[string]string{}, Line: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse(tt.file, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Hosts) != len(tt.want) {
				t.Fatalf("hosts:\n got %+v\nwant %+v", inv.Hosts, tt.want)
			}
			for i := range tt.want {
				if g, w := inv.Hosts[i], tt.want[i]; !sameHost(g, w) {
					t.Errorf("host %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func sameHost(a, b Host) bool {
	if a.Name != b.Name || a.Address != b.Address || a.User != b.User || a.Port != b.Port ||
		a.Transport != b.Transport || a.Line != b.Line || strings.Join(a.Roles, ",") != strings.Join(b.Roles, ",") || len(a.Vars) != len(b.Vars) {
		return false
	}
	for k, v := range a.Vars {
		if w, ok := b.Vars[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// (9) Ansible warns about and skips what is not part of a group.
func TestYAMLWarnings(t *testing.T) {
	in := "all:\n  children:\n    web:\n      host:\n        forgotten:\n      hosts: {w1: }\nnotagroup: text\n"
	inv, err := Parse("hosts.yml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 1 || inv.Hosts[0].Name != "w1" {
		t.Fatalf("hosts %+v, want w1 only", inv.Hosts)
	}
	var got []string
	for _, w := range inv.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		`line 4: group "web": skipping unknown key "host" (want hosts, vars or children), as Ansible does`,
		`line 7: skipping "notagroup": not a group definition (a mapping of hosts, vars and children), as Ansible does`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// (10) group_vars/ and host_vars/ beside the inventory, as Ansible reads
// them: files with or without an extension, directories of files, any
// group_vars file winning over any inventory group var.
func TestVarsDirs(t *testing.T) {
	dir := fstest.MapFS{
		"group_vars/all.yml":           {Data: []byte("ansible_user: deploy\ncolor: all\n")},
		"group_vars/web/a.yml":         {Data: []byte("color: web-a\nlist: [1, 2]\n")},
		"group_vars/web/b.yaml":        {Data: []byte("color: web-b\n")},
		"group_vars/web/.hidden.yml":   {Data: []byte("color: hidden\n")},
		"group_vars/web/c.yml~":        {Data: []byte("color: backup\n")},
		"group_vars/web/notes.txt":     {Data: []byte("color: txt\n")},
		"group_vars/db":                {Data: []byte("---\nansible_port: 5022\n")},
		"group_vars/db.yml":            {Data: []byte("ansible_port: 1\n")}, // the file without extension comes first
		"host_vars/w1.yml":             {Data: []byte("ansible_host: 192.0.2.1\ncolor: host\n")},
		"host_vars/d1.json":            {Data: []byte(`{"ansible_user": "json"}`)},
		"host_vars/2001:db8::2.yml":    {Data: []byte("ansible_user: six\n")},
		"group_vars/vaulted.yml":       {Data: []byte("$ANSIBLE_VAULT;1.1;AES256\n3933\n")},
		"host_vars/w2/nested/deep.yml": {Data: []byte("depth: deep\n")},
	}
	in := "[web]\nw1\nw2 color=inline\n[web:vars]\ncolor=inventory\n[db]\nd1\n[2001:db8::2]:22\n[vaulted]\nv1\n"
	inv, err := ParseWithVars("hosts", []byte(in), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Host{
		{Name: "w1", Address: "192.0.2.1", User: "deploy", Roles: []string{"web"}, Vars: map[string]string{"color": "host", "list": "[1,2]"}, Line: 2},
		{Name: "w2", User: "deploy", Roles: []string{"web"}, Vars: map[string]string{"color": "inline", "list": "[1,2]", "depth": "deep"}, Line: 3},
		{Name: "d1", User: "json", Port: 5022, Roles: []string{"db"}, Vars: map[string]string{"color": "all"}, Line: 7},
		{Name: "2001-db8--2", Address: "2001:db8::2", User: "six", Port: 22, Roles: []string{"db"}, Vars: map[string]string{"color": "all"}, Line: 8},
		{Name: "v1", User: "deploy", Roles: []string{"vaulted"}, Vars: map[string]string{"color": "all"}, Line: 10},
	}
	if len(inv.Hosts) != len(want) {
		t.Fatalf("hosts %+v", inv.Hosts)
	}
	for i := range want {
		if !sameHost(inv.Hosts[i], want[i]) {
			t.Errorf("host %d:\n got %+v\nwant %+v", i, inv.Hosts[i], want[i])
		}
	}
	if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0].Error(), "group_vars/vaulted.yml: line 1: skipping a vault-encrypted file") {
		t.Errorf("warnings %v, want the vault file skipped", inv.Warnings)
	}
}

func TestVarsDirsErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  fstest.MapFS
		want string
	}{
		{"bad YAML", fstest.MapFS{"group_vars/all.yml": {Data: []byte("a: [\n")}}, "group_vars/all.yml: line 1: invalid YAML"},
		{"not a mapping", fstest.MapFS{"host_vars/h1": {Data: []byte("- a\n")}}, "host_vars/h1: line 1: vars file must be a mapping"},
		{"bad address", fstest.MapFS{"host_vars/h1.yaml": {Data: []byte("x: 1\nansible_host: 'a;b'\n")}}, "host_vars/h1.yaml: line 2: ansible_host"},
		{"bad port", fstest.MapFS{"group_vars/all/x.yml": {Data: []byte("ansible_port: 0\n")}}, `group_vars/all/x.yml: line 1: ansible_port "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithVars("hosts", []byte("h1\n"), tt.dir)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
