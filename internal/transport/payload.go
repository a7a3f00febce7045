package transport

import (
	"sort"
	"strings"
)

// A transport starts `/bin/sh -s` and writes the command's [Command.Payload]
// to its standard input: the shell reads it as one compound command,
// exports the command's environment, gives the script /dev/null as its own
// standard input (as a background job would have) and evaluates the script
// in the same process, so $$ is the script's shell and no extra process is
// started. The script and the environment values travel on the standard
// input only: they never appear in any process's arguments (ps,
// /proc/PID/cmdline) nor in the shell's initial environment.

// Payload is what a transport writes to `/bin/sh -s`: one brace group that
// exports Env (in name order), assigns the script to golive_script, points
// standard input at /dev/null and evaluates the script; every value is
// single-quoted. Names must have passed [Command.Validate].
func (c Command) Payload() string {
	names := make([]string, 0, len(c.Env))
	for name := range c.Env {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("{\n")
	for _, name := range names {
		b.WriteString("export " + name + "=" + Quote(c.Env[name]) + "\n")
	}
	b.WriteString("golive_script=" + Quote(c.Script) + "\n")
	b.WriteString("exec </dev/null\neval \"$golive_script\"\n}\n")
	return b.String()
}

// Quote makes s one word for a POSIX shell, with single quotes.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
