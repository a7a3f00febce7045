// Package load reads a plan file and the files it names (inventories) from
// disk, applies an environment and --set overrides, and validates the
// result. It is the one place where plans meet the file system.
package load
