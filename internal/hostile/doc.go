// Package hostile holds the hostile-input suite: hostile values (quotes,
// $(...), backticks, newlines, NUL, ANSI and OSC escapes, ../, a leading
// '-', 10 KB strings, invalid UTF-8, ...) given to the real golive binary
// through every way a value reaches it at run time (-r, --ticket, --set,
// --as, $GOLIVE_USER, --reason, --comment, --env, inventory host names and
// vars, environment variables read as env.X). Each value is either refused
// with exit 2, naming the input and the offending character, before
// anything is recorded, or carried inertly: scripts write what they were
// given into files and the test compares the bytes, and a canary file that
// any injected command would create never appears.
package hostile
