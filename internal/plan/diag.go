package plan

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a 1-based line and column in a plan file.
type Pos struct {
	Line, Col int
}

// Diag is one problem found in a plan: an error or a warning.
type Diag struct {
	File    string
	Pos     Pos
	Msg     string
	Warning bool
}

func (d Diag) String() string {
	kind := ""
	if d.Warning {
		kind = "warning: "
	}
	if d.Pos.Line == 0 {
		return fmt.Sprintf("%s: %s%s", d.File, kind, d.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Pos.Line, d.Pos.Col, kind, d.Msg)
}

// Diags is a list of problems. As an error it prints one problem a line.
type Diags []Diag

// Errors returns the diagnostics that are not warnings.
func (ds Diags) Errors() Diags {
	var out Diags
	for _, d := range ds {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns the diagnostics that are warnings.
func (ds Diags) Warnings() Diags {
	var out Diags
	for _, d := range ds {
		if d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diags) HasErrors() bool { return len(ds.Errors()) > 0 }

// Sorted returns the diagnostics sorted by file, line, column and message,
// without duplicates.
func (ds Diags) Sorted() Diags {
	out := append(Diags(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
	dedup := out[:0]
	for i, d := range out {
		if i > 0 && d == out[i-1] {
			continue
		}
		dedup = append(dedup, d)
	}
	return dedup
}

func (ds Diags) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}
