// Package secretstest is the secrets suite: it drives the real golive
// binary (plan, review, run, logs, report, status, history and the notify
// webhooks) with secrets that are JSON-special, multi-line, longer than
// the journal's output tail and printed slowly in pieces across the cut
// points, and checks every byte golive wrote (stdout and stderr, the
// SQLite journal's files, webhook bodies, and the process lists sampled
// while a run works) for any 8-byte piece of any secret. The same check
// over SSH, with the target's `ps`, is in internal/e2e.
package secretstest
