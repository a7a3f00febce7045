// Package inventory owns reading Ansible-style inventories (INI and YAML) into
// a flat list of hosts: name, address, user, port, transport, roles (the
// groups a host belongs to, directly or through [group:children]) and the
// merged host vars.
//
// It does no I/O of its own: callers pass the inventory's bytes and, for
// group_vars/ and host_vars/, an fs.FS of the inventory's directory. Every
// problem is reported as an *Error carrying the file (for vars files), the
// line and, where known, the column, so that the caller can prefix the
// path. What Ansible only warns about is returned in Inventory.Warnings.
//
// The semantics are Ansible's (ansible-core 2.14), checked by a
// differential test against ansible-inventory --list (ansible_test.go):
//
//   - INI host lines are split as Python's shlex does ("#" outside quotes
//     ends the line); [group:vars] values are the rest of the line. Every
//     value is read with Python's ast.literal_eval rules (pyliteral.go):
//     a literal gives its value, anything else is kept as written.
//   - Host ranges such as web[01:03], db[a:c] and app[1:9:2] are expanded,
//     keeping leading zeros; a "host:port" or "[address]:port" suffix sets
//     ansible_port where the host is first defined.
//   - ansible_ssh_host/user/port win over ansible_host/user/port at any
//     level; they fill Address, User and Port and are not repeated in Vars.
//     ansible_connection=local makes Transport "local".
//   - Var precedence, lowest first: the "all" group's inventory vars, the
//     other groups' (by depth, then ansible_group_priority, then name),
//     group_vars/all, the other group_vars files in the same order, the
//     host's inventory vars, its host_vars files.
//   - The "ungrouped" group (and its vars) applies only to hosts that belong
//     to no other group.
//   - YAML "hosts: NAME" and "children: NAME" are one-name shortcuts; unknown
//     keys are warnings; lists and mappings are carried as JSON text.
//
// Deliberate differences: vars are text; host and group names follow the
// plan's name rule, so a host written as an IPv6 address gets a derived
// name (IPv6Name) and keeps the address as Address.
package inventory
