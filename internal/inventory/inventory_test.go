package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withLines returns hosts with Line set from lines (in order).
func withLines(hosts []Host, lines ...int) []Host {
	out := make([]Host, len(hosts))
	for i, h := range hosts {
		h.Line = lines[i]
		out[i] = h
	}
	return out
}

var prodHosts = []Host{
	{Name: "bastion", Address: "203.0.113.5", User: "admin", Roles: []string{}, Vars: map[string]string{"dc": "eu west"}},
	{Name: "web01.example.com", User: "deploy", Roles: []string{"prod", "web"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "8080"}},
	{Name: "web02.example.com", User: "deploy", Roles: []string{"prod", "web"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "8080"}},
	{Name: "web03.example.com", User: "deploy", Roles: []string{"prod", "web"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "8080"}},
	{Name: "web-canary.example.com", Address: "10.0.1.99", User: "deploy", Port: 2222, Roles: []string{"prod", "web"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "8080", "weight": "5"}},
	{Name: "db1", Address: "10.0.2.1", User: "postgres", Roles: []string{"db", "prod"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "80"}},
	{Name: "db2", Address: "10.0.2.2", User: "root", Port: 5433, Roles: []string{"db", "prod"},
		Vars: map[string]string{"dc": "eu west", "env": "production", "http_port": "80"}},
}

var usaHosts = []Host{
	{Name: "host1", Roles: []string{"atlanta", "southeast", "usa"}, Vars: map[string]string{
		"country": "us", "escape_pods": "1", "halon_system_timeout": "30", "ntp_server": "ntp.atlanta.example.com",
		"self_destruct_countdown": "60", "some_server": "foo.southeast.example.com"}},
	// In both atlanta and raleigh (same depth): raleigh sorts last and wins.
	{Name: "host2", Roles: []string{"atlanta", "raleigh", "southeast", "usa"}, Vars: map[string]string{
		"country": "us", "escape_pods": "1", "halon_system_timeout": "30", "ntp_server": "ntp.raleigh.example.com",
		"role_override": "host", "self_destruct_countdown": "60", "some_server": "foo.southeast.example.com"}},
	{Name: "host3", Roles: []string{"raleigh", "southeast", "usa"}, Vars: map[string]string{
		"country": "us", "escape_pods": "2", "halon_system_timeout": "30", "ntp_server": "ntp.raleigh.example.com",
		"self_destruct_countdown": "60", "some_server": "foo.southeast.example.com"}},
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		want []Host
	}{
		{"prod.ini", withLines(prodHosts, 2, 5, 5, 5, 6, 9, 10)},
		{"prod.yaml", withLines(prodHosts, 4, 18, 18, 18, 19, 28, 29)},
		{"usa.ini", withLines(usaHosts, 2, 3, 7)},
		{"usa.yml", withLines(usaHosts, 15, 16, 24)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{tt.file, "inventory"} { // by extension, then by content
				inv, err := Parse(name, data)
				if err != nil {
					t.Fatalf("Parse(%q): %v", name, err)
				}
				if !reflect.DeepEqual(inv.Hosts, tt.want) {
					t.Errorf("Parse(%q) hosts:\n got %+v\nwant %+v", name, inv.Hosts, tt.want)
				}
			}
		})
	}
}

func TestParseINI(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Host
	}{
		{"empty", "", []Host{}},
		{"comments only", "# a\n; b\n\n", []Host{}},
		{"ungrouped only when in no other group", "orphan\nalso-web\n[web]\nalso-web\n[ungrouped:vars]\nlonely=yes\n", []Host{
			{Name: "orphan", Roles: []string{}, Vars: map[string]string{"lonely": "yes"}, Line: 1},
			{Name: "also-web", Roles: []string{"web"}, Vars: map[string]string{}, Line: 2},
		}},
		{"alphabetic range and step", "[db]\ndb-[a:c]\napp[1:5:2].[x:y]\n", []Host{
			{Name: "db-a", Roles: []string{"db"}, Vars: map[string]string{}, Line: 2},
			{Name: "db-b", Roles: []string{"db"}, Vars: map[string]string{}, Line: 2},
			{Name: "db-c", Roles: []string{"db"}, Vars: map[string]string{}, Line: 2},
			{Name: "app1.x", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
			{Name: "app1.y", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
			{Name: "app3.x", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
			{Name: "app3.y", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
			{Name: "app5.x", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
			{Name: "app5.y", Roles: []string{"db"}, Vars: map[string]string{}, Line: 3},
		}},
		{"quoting and comments", "h1 a=\"x y\" b='p q' c=it\\'s d=\"say \\\"hi\\\"\" url=http://x/#frag # comment\n", []Host{
			{Name: "h1", Roles: []string{}, Vars: map[string]string{"a": "x y", "b": "p q", "c": "it's", "d": `say "hi"`, "url": "http://x/"}, Line: 1}, // as in shlex, # ends the line even inside a token
		}},
		{"vars section takes the rest of the line", "h1\n[all:vars]\n k = v # not a comment\nq=\"quoted\"\nempty=\n", []Host{
			{Name: "h1", Roles: []string{}, Vars: map[string]string{"k": "v # not a comment", "q": "quoted", "empty": ""}, Line: 1},
		}},
		{"host seen twice: vars merge, later wins, first line kept", "[a]\nh1 x=1 y=1\n[b]\nh1 y=2\n", []Host{
			{Name: "h1", Roles: []string{"a", "b"}, Vars: map[string]string{"x": "1", "y": "2"}, Line: 2},
		}},
		{"host var beats port suffix, old name beats new as in Ansible", "h1:2200 ansible_port=2201\nh2 ansible_ssh_host=a ansible_host=b\n", []Host{
			{Name: "h1", Port: 2201, Roles: []string{}, Vars: map[string]string{}, Line: 1},
			{Name: "h2", Address: "a", Roles: []string{}, Vars: map[string]string{}, Line: 2},
		}},
		{"host old name beats group new name", "[g]\nh1 ansible_ssh_user=old\n[g:vars]\nansible_user=new\n", []Host{
			{Name: "h1", User: "old", Roles: []string{"g"}, Vars: map[string]string{}, Line: 2},
		}},
		{"empty child group and deep nesting", "[top:children]\nmid\nghost\n[mid:children]\nleaf\n[leaf]\nh1\n[top:vars]\nv=top\n[mid:vars]\nv=mid\n[ghost]\n", []Host{
			{Name: "h1", Roles: []string{"leaf", "mid", "top"}, Vars: map[string]string{"v": "mid"}, Line: 7},
		}},
		{"ipv6, CRLF, BOM, section comment", "\uFEFF[v6] # six\r\nsix-1 ansible_host=2001:db8::1 ansible_port=22\r\n", []Host{
			{Name: "six-1", Address: "2001:db8::1", Port: 22, Roles: []string{"v6"}, Vars: map[string]string{}, Line: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Hosts, tt.want) {
				t.Errorf("hosts:\n got %+v\nwant %+v", inv.Hosts, tt.want)
			}
		})
	}
}

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Host
	}{
		{"empty", "", []Host{}},
		{"null root", "~\n", []Host{}},
		{"non-string values rendered as YAML text", "all:\n  hosts:\n    h1: {n: 0x1F, b: true, f: 1.50, z: ~, s: '007'}\n", []Host{
			{Name: "h1", Roles: []string{}, Vars: map[string]string{"n": "0x1F", "b": "true", "f": "1.50", "z": "", "s": "007"}, Line: 3},
		}},
		{"top-level groups, null groups and hosts", "web:\n  hosts:\n    w1:\ndb:\nall:\n  hosts:\n    w1:\n", []Host{
			{Name: "w1", Roles: []string{"web"}, Vars: map[string]string{}, Line: 3},
		}},
		{"merge keys and aliases", "all:\n  vars: &base {a: 1, b: 1}\n  children:\n    web:\n      hosts:\n        w1: &hv\n          <<: [*base, {c: 3, a: 2}]\n          b: 9\n        w2: *hv\n", []Host{
			{Name: "w1", Roles: []string{"web"}, Vars: map[string]string{"a": "1", "b": "9", "c": "3"}, Line: 6},
			{Name: "w2", Roles: []string{"web"}, Vars: map[string]string{"a": "1", "b": "9", "c": "3"}, Line: 9},
		}},
		{"same group defined twice merges", "all:\n  children:\n    a:\n      children:\n        c: {hosts: {h1: }}\n    b:\n      children:\n        c: {vars: {x: y}}\n", []Host{
			{Name: "h1", Roles: []string{"a", "b", "c"}, Vars: map[string]string{"x": "y"}, Line: 5},
		}},
		{"json", `{"all": {"children": {"web": {"hosts": {"w1": {"ansible_port": 22}}}}}}`, []Host{
			{Name: "w1", Port: 22, Roles: []string{"web"}, Vars: map[string]string{}, Line: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseYAML([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Hosts, tt.want) {
				t.Errorf("hosts:\n got %+v\nwant %+v", inv.Hosts, tt.want)
			}
		})
	}
}

func TestParseChoosesFormat(t *testing.T) {
	tests := []struct {
		name, file, in string
		wantErr        string // empty: parses
		wantHosts      int
	}{
		{"yaml by extension", "hosts.YML", "web:\n  hosts: {w1: }\n", "", 1},
		{"yaml by content", "hosts", "web:\n  hosts: {w1: }\n", "", 1},
		{"ini by content", "hosts", "[web]\nw1\nw2\n", "", 2},
		{"ini plain host list", "hosts", "w1\nw2:22\n", "", 2},
		{"ini content in .yaml file falls back to INI as in Ansible", "hosts.yaml", "[web]\nw1\n", "", 1},
		{"ini content in .yml file falls back to INI", "hosts.yml", "w1 ansible_host=10.0.0.1\nw2\n", "", 2},
		{"neither YAML nor INI in .yaml: the YAML error", "hosts.yaml", "[web\nw1\n", "line 2: invalid YAML", 0},
		{"a YAML scalar is INI", "hosts", "w1 ansible_host=x\n", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse(tt.file, []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Hosts) != tt.wantHosts {
				t.Errorf("got %d hosts, want %d", len(inv.Hosts), tt.wantHosts)
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	_, err := ParseINI([]byte("[web:foo]\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Line != 1 || e.Col != 2 || !strings.HasPrefix(e.Error(), "line 1: unknown section suffix") {
		t.Errorf("got %+v, %q", *e, e.Error())
	}
}
