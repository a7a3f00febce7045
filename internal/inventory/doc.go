// Package inventory owns reading Ansible-style inventories (INI and YAML) into
// a flat list of hosts: name, address, user, port, roles (the groups a host
// belongs to, directly or through [group:children]) and the merged host vars.
//
// It is pure: callers read the file and pass its bytes. Every problem is
// reported as an *Error carrying the line (and, where known, the column) so
// that the caller can prefix the file name.
//
// Semantics follow Ansible where an experienced user would expect them to:
//
//   - Host ranges such as web[01:03], db[a:c] and app[1:9:2] are expanded,
//     keeping leading zeros; a "host:port" suffix sets ansible_port.
//   - Var precedence, lowest first: the "all" group, then the other groups
//     ordered by depth (parents before children) and then by name, then the
//     host's own vars. Later definitions of the same var at the same level win.
//   - The "ungrouped" group (and its vars) applies only to hosts that belong
//     to no other group.
//   - ansible_host, ansible_user and ansible_port (and their old names
//     ansible_ssh_host, ansible_ssh_user, ansible_ssh_port) fill Address, User
//     and Port and are not repeated in Vars.
//   - In INI host lines "#" starts a comment at the beginning of a token;
//     values may be quoted with '...' or "...". In [group:vars] sections the
//     value is the rest of the line (as in Ansible), with one pair of
//     surrounding quotes removed.
package inventory
