// Package plan owns the deployment plan format 1: the Go types of a plan, the
// strict YAML decoder that reports every problem as FILE:LINE:COL, the
// validation rules of the contract (docs/plan-reference.md), the ${{ }}
// expressions and the JSON Schema. It is pure: it reads no files; the load
// package feeds it bytes.
package plan
