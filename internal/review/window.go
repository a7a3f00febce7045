package review

import (
	"errors"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/window"
)

// Window converts a plan's release window; nil (no window) is always open.
func Window(pw *plan.Window) (*window.Window, error) {
	if pw == nil {
		return nil, nil
	}
	w := &window.Window{Loc: time.UTC}
	if pw.Timezone != "" {
		loc, err := time.LoadLocation(pw.Timezone)
		if err != nil {
			return nil, fmt.Errorf("window timezone: %w", err)
		}
		w.Loc = loc
	}
	var errs []error
	for _, o := range pw.Open {
		r := window.Range{}
		var err error
		if r.From, err = window.ParseHHMM(o.From); err != nil {
			errs = append(errs, err)
		}
		if r.To, err = window.ParseHHMM(o.To); err != nil {
			errs = append(errs, err)
		}
		for _, d := range o.Days {
			day, err := window.ParseDay(d.Name)
			if err != nil {
				errs = append(errs, err)
			}
			r.Days = append(r.Days, day)
		}
		w.Open = append(w.Open, r)
	}
	for _, f := range pw.Freeze {
		from, err1 := window.ParseFreezeTime(f.From, w.Loc)
		to, err2 := window.ParseFreezeTime(f.To, w.Loc)
		errs = append(errs, err1, err2)
		w.Freezes = append(w.Freezes, window.Freeze{From: from, To: to, Reason: f.Reason})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// OnClose is what happens when the window closes mid-run.
func OnClose(pw *plan.Window) string {
	if pw == nil || pw.OnClose == "" {
		return "backout"
	}
	return pw.OnClose
}
