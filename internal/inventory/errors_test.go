package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkErr asserts that err is an *Error at line whose text contains msg.
func checkErr(t *testing.T, err error, line int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if e.Line != line || !strings.Contains(e.Msg, msg) {
		t.Errorf("got %q, want line %d with %q", err.Error(), line, msg)
	}
	if want := fmt.Sprintf("line %d: %s", e.Line, e.Msg); err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestINIErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"unknown section suffix", "h1\n\n[web:foo]\n", 3, `unknown section suffix "foo" in [web:foo] (want vars or children)`},
		{"empty section suffix", "[web:]\n", 1, `unknown section suffix ""`},
		{"missing ]", "[web\nh1\n", 1, `invalid section header "[web": missing ]`},
		{"text after header", "[web] extra\n", 1, `unexpected "extra" after section header`},
		{"bad group name", "[we b]\n", 1, `invalid group name "we b"`},
		{"empty group name", "[]\n", 1, `invalid group name ""`},
		{"bad child group name", "[a:children]\nb c\n", 2, `invalid group name "b c" in [a:children]`},
		{"all as a child", "[a:children]\nall\n", 2, `group "all" cannot be a child of "a"`},
		{"cycle", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n", 6, `children form a cycle: a -> b -> c -> a`},
		{"self cycle", "[x]\nh1\n[a:children]\na\n", 4, `children form a cycle: a -> a`},
		{"vars line without =", "[web:vars]\nhttp_port 80\n", 2, `expected key=value in [web:vars], got "http_port 80"`},
		{"vars line with empty key", "[web:vars]\n=80\n", 2, `invalid var name ""`},
		{"host token without =", "[web]\nh1 a=1 oops\n", 2, `expected key=value after host "h1", got "oops"`},
		{"key=value without host", "[web]\n  a=1 b=2\n", 2, `expected a host name before "a=1"`},
		{"unterminated quote", "[web]\nh1 a=\"x y\n", 2, "unterminated quoted string"},
		{"port not a number", "[web]\nh1\nh2 ansible_port=ssh\n", 3, `ansible_port "ssh": must be an integer from 1 to 65535`},
		{"port zero", "h1 ansible_port=0\n", 1, `ansible_port "0"`},
		{"port too big", "h1 ansible_ssh_port=65536\n", 1, `ansible_ssh_port "65536"`},
		{"negative port", "h1 ansible_port=-22\n", 1, `ansible_port "-22"`},
		{"port in group vars", "[web:vars]\nx=1\nansible_port=22x\n", 3, `ansible_port "22x"`},
		{"port suffix", "[web]\nweb1:99999\n", 2, `host "web1:99999": port "99999" must be an integer from 1 to 65535`},
		{"empty port suffix", "web1:\n", 1, `port ""`},
		{"range begin after end", "\n[web]\nweb[3:1]\n", 3, `invalid host range [3:1]: begin is after end`},
		{"range widths differ", "web[01:3]\n", 1, `invalid host range [01:3]: begin and end must have the same width`},
		{"range mixed", "web[a:3]\n", 1, `want numbers or single letters`},
		{"range letters reversed", "web[c:a]\n", 1, `begin is after end`},
		{"range missing end", "web[1:]\n", 1, `missing end`},
		{"range bad step", "web[1:3:0]\n", 1, `step must be a positive integer`},
		{"range not a range", "web[1]\n", 1, `want [begin:end] or [begin:end:step]`},
		{"range unterminated", "web[1:3\n", 1, `unterminated host range`},
		{"range too big", "web[0:99999999]\n", 1, `expands to more than 100000 hosts`},
		{"ranges multiply too big", "w[0:999][0:999]\n", 1, `expands to more than 100000 hosts`},
		{"too many hosts", "a[0:99999]\nb[0:9]\n", 2, `too many host entries (more than 100000)`},
		{"too many repeated hosts", "a[0:60000]\na[0:60000]\n", 2, `too many host entries (more than 100000)`},
		{"stray bracket", "web]\n", 1, `invalid host name "web]"`},
		{"command in a host name", "[web]\nweb1$(touch${IFS}/tmp/p)\n", 2, `invalid host name "web1$(touch${IFS}/tmp/p)": use letters, digits`},
		{"backticks in a host name", "web1`id`\n", 1, "invalid host name \"web1`id`\""},
		{"quote in a host name", "web1';id;'\n", 1, `invalid host name "web1;id;"`},
		{"leading dash host name", "-web1\n", 1, `invalid host name "-web1"`},
		{"colons but not IPv6", "a:b:c\n", 1, `invalid host "a:b:c": not an IPv6 address`},
		{"IPv6 name collides", "2001:db8::1\n2001-db8--1\n", 2, `host "2001-db8--1": the IPv6 address 2001:db8::1 and the host name 2001-db8--1 both make this name`},
		{"comment after an address", "[all:vars]\nansible_host=10.0.0.1 # primary\n", 2, `quote the value, as in key="value" # comment`},
		{"vars of an undefined group", "[web]\nw1\n[nosuch:vars]\nx=1\n", 3, `[nosuch:vars]: group "nosuch" is not defined`},
		{"undefined child group", "[top:children]\nghost\n[top:vars]\nx=1\n[ghost:vars]\ny=2\n", 2, `[top:children] names group "ghost", which is not defined`},
		{"bad group priority", "[g:vars]\nansible_group_priority=high\n", 2, `ansible_group_priority "high": must be an integer`},
		{"command in a group name", "[web$(id)]\nh1\n", 1, `invalid group name "web$(id)"`},
		{"command in an address", "h1 ansible_host='a;touch /tmp/p'\n", 1, `ansible_host "a;touch /tmp/p": character ';' at position 2`},
		{"option as an address", "h1 ansible_host=-oProxyCommand=x\n", 1, `character '-' at position 1`},
		{"invalid utf-8", "h1\nh2\nh\xff3\n", 3, "invalid UTF-8"},
		{"NUL byte", "h1\n[web]\x00\n", 2, "invalid control character U+0000"},
		{"binary garbage", "\x7fELF\x02\x01\x01\x00\x00", 1, "invalid control character U+007F"},
		{"huge line", "h1\n" + strings.Repeat("x", 70000) + "\n", 2, "line too long (70000 bytes, at most 65536)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %d hosts", len(inv.Hosts))
			}
			checkErr(t, err, tt.line, tt.msg)
		})
	}
}

func TestYAMLErrors(t *testing.T) {
	// Each level merges the previous one four times: 4^12 keys if expanded.
	bomb := "web:\n  vars:\n    <<:\n      - &l0 {x: 1}\n"
	for i := 1; i <= 12; i++ {
		bomb += fmt.Sprintf("      - &l%d {<<: [*l%d, *l%d, *l%d, *l%d]}\n", i, i-1, i-1, i-1, i-1)
	}

	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"syntax", "all:\n  hosts:\n    h1: {a: 1\n", 2, "invalid YAML: did not find expected ',' or '}'"},
		{"tab indentation", "all:\n\thosts:\n", 2, "invalid YAML: found character that cannot start any token"},
		{"root is a list", "- a\n- b\n", 1, "inventory must be a mapping of groups, got a list"},
		{"group is a string", "all:\n  children:\n    web: yes\n", 3, `group "web" must be a mapping, got "yes"`},
		{"hosts is a list", "web:\n  hosts:\n    - h1\n", 3, `group "web": hosts must be a mapping, got a list`},
		{"children is a list", "web:\n  children: [a]\n", 2, `group "web": children must be a mapping, got a list`},
		{"host vars a string", "web:\n  hosts:\n    h1: 10.0.0.1\n", 3, `host vars must be a mapping, got "10.0.0.1"`},
		{"plugin configuration", "plugin: aws_ec2\nregions: [eu-west-1]\n", 1, "inventory plugin's configuration"},
		{"list var with a mapping key", "web:\n  vars:\n    opts: [{? [a]\n : b}]\n", 3, "a key in a var's value must be a string"},
		{"vars is a list", "web:\n  vars: [a]\n", 2, "group vars must be a mapping, got a list"},
		{"bad port", "web:\n  hosts:\n    h1:\n      ansible_port: twenty\n", 4, `ansible_port "twenty"`},
		{"bad old port name in group vars", "all:\n  vars:\n    ansible_ssh_port: 0\n", 3, `ansible_ssh_port "0"`},
		{"port as float", "web:\n  hosts:\n    h1: {ansible_port: 22.0}\n", 3, `ansible_port "22.0"`},
		{"bad port suffix", "web:\n  hosts:\n    h1:0:\n", 3, `port "0" must be an integer`},
		{"bad range", "web:\n  hosts:\n    w[2:1]:\n", 3, "begin is after end"},
		{"host name is a mapping", "web:\n  hosts:\n    ? {a: 1}\n    : {}\n", 3, "host name must be a string, got a mapping"},
		{"bad group name", "all:\n  children:\n    'a b':\n", 3, `invalid group name "a b"`},
		{"command in a host name", "web:\n  hosts:\n    'web1$(touch${IFS}/tmp/p)':\n", 3, `invalid host name "web1$(touch${IFS}/tmp/p)"`},
		{"newline in a host name", "web:\n  hosts:\n    \"web1\\nid\":\n", 3, `invalid host name "web1\nid"`},
		{"command in an address", "web:\n  hosts:\n    h1: {ansible_host: '$(id)'}\n", 3, `ansible_host "$(id)": character '$' at position 1`},
		{"all as a child", "web:\n  children:\n    all:\n", 3, `group "all" cannot be a child of "web"`},
		{"cycle", "a:\n  children:\n    b:\n      children:\n        a:\n", 5, "children form a cycle: a -> b -> a"},
		{"merge of a scalar", "web:\n  vars:\n    <<: 1\n", 3, "merge key value must be a mapping or a list of mappings"},
		{"alias bomb", bomb, 4, "inventory too complex"},
		{"invalid utf-8", "all:\n  hosts:\n    h\xfe:\n", 3, "invalid UTF-8"},
		{"control character", "all:\n  hosts:\n    h\x01:\n", 3, "invalid control character U+0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseYAML([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %d hosts", len(inv.Hosts))
			}
			checkErr(t, err, tt.line, tt.msg)
		})
	}
}
