package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/golive-dev/golive/internal/review"
)

// RenderReview prints a go/no-go report a person reads in ten seconds: one
// line per item with ✔ or ✘, then GO or NO-GO and the reasons.
func RenderReview(w io.Writer, r *review.Report, st Style) {
	env := ""
	if r.Env != "" {
		env = " into " + r.Env
	}
	fmt.Fprintf(w, "%s %s %s%s\n", st.Bold("Review"), r.Plan, r.Release, env)
	for _, it := range r.Items {
		mark := st.Green("✔")
		if !it.OK {
			mark = st.Red("✘")
			if it.Waitable {
				mark = st.Yellow("✘")
			}
		}
		where := ""
		if it.Host != "" {
			where = " on " + it.Host
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", mark, it.Name, where, oneLine(it.Detail))
	}
	renderQuality(w, r, st)
	switch {
	case r.Go:
		fmt.Fprintf(w, "%s\n", st.Green(st.Bold("GO")))
	case r.WaitOnly:
		fmt.Fprintf(w, "%s: waiting for %s\n", st.Yellow(st.Bold("NO-GO (for now)")), strings.Join(r.Reasons, "; "))
		if r.NextOpen != nil {
			fmt.Fprintf(w, "  the window opens %s\n", r.NextOpen.Format("Mon 2006-01-02 15:04 MST"))
		}
	default:
		fmt.Fprintf(w, "%s\n", st.Red(st.Bold("NO-GO")))
		for _, reason := range r.Reasons {
			fmt.Fprintf(w, "  - %s\n", oneLine(reason))
		}
	}
}

// renderQuality prints the plan-quality section: the deployment-plan
// checklist, with what is missing marked ! (a warning) or, under
// controls.checklist: required, ✘.
func renderQuality(w io.Writer, r *review.Report, st Style) {
	if len(r.Quality) == 0 {
		return
	}
	met := 0
	for _, it := range r.Quality {
		if it.OK {
			met++
		}
	}
	how := "missing items are warnings"
	if r.ChecklistRequired {
		how = "controls.checklist: required"
	}
	fmt.Fprintf(w, "%s: %d/%d (%s)\n", st.Bold("Plan quality"), met, len(r.Quality), how)
	for _, it := range r.Quality {
		mark := st.Green("✔")
		switch {
		case it.OK:
		case r.ChecklistRequired:
			mark = st.Red("✘")
		default:
			mark = st.Yellow("!")
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, it.Name, oneLine(it.Detail))
	}
}
