// Package cli is golive's command tree: it turns arguments and flags into
// options for the packages that do the work, prints their results, and
// maps errors to the contract's exit codes in one place (exit.go). It has
// no deployment logic of its own.
package cli
