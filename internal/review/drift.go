package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/store"
)

// drift compares the release each host says it runs (targets.current)
// with the release the store records as live there. Every difference is
// a no-go item naming the host, both releases and the run that recorded
// it.
func (r *Report) drift(ctx context.Context, in Input, groups []*hostProbes, answers []hostAnswer) {
	live, err := liveOf(ctx, in)
	if err != nil {
		r.add(Item{Kind: "drift", Name: "recorded releases", Detail: "reading the store: " + err.Error()})
		return
	}
	for gi, p := range groups {
		if p.current == nil {
			continue
		}
		host := p.host.Name
		rec, recorded := live[host]
		a := answers[gi]
		r.add(DriftItem(host, a.g.CurrentRC, a.g.CurrentOut, a.err, rec, recorded))
	}
}

// DriftItem judges one host: rc and out are targets.current's exit status
// and output (rc -1: not run), err why the host could not be asked.
func DriftItem(host string, rc int, out string, err error, rec store.LiveRelease, recorded bool) Item {
	it := Item{Kind: "drift", Name: "drift", Host: host, Want: "nothing"}
	if recorded {
		it.Want, it.RecordedBy = rec.Release, rec.RunID
	}
	recText := "recorded nothing (never released by golive)"
	if recorded {
		recText = fmt.Sprintf("recorded %s by run %s", rec.Release, rec.RunID)
	}
	found := strings.TrimSpace(out)
	switch {
	case err != nil && rc < 0:
		it.Found, it.Unknown = "unknown", true
		it.Detail = fmt.Sprintf("%s runs an unknown release (%v), %s", host, err, recText)
		return it
	case rc != 0:
		it.Found, it.Unknown = "unknown", true
		it.Detail = fmt.Sprintf("%s: targets.current failed (exit %d), %s", host, rc, recText)
		return it
	case found != "" && !validRelease(found):
		it.Found, it.Unknown = "unknown", true
		it.Detail = fmt.Sprintf("%s: targets.current printed %q, which is not a release version; %s", host, clip(found), recText)
		return it
	}
	it.Found = found
	if found == "" {
		it.Found = "nothing"
	}
	switch {
	case found == "" && !recorded:
		it.OK, it.Detail = true, fmt.Sprintf("%s runs no release, as recorded", host)
	case recorded && found == rec.Release:
		it.OK, it.Detail = true, fmt.Sprintf("%s runs %s, as recorded by run %s", host, found, rec.RunID)
	case found == "":
		it.Detail = fmt.Sprintf("%s runs nothing, %s", host, recText)
	default:
		it.Detail = fmt.Sprintf("%s runs %s, %s", host, found, recText)
	}
	return it
}

// validRelease is the contract's rule for a release version: 1 to 128
// characters of A-Z a-z 0-9 . _ + ~ : -, starting with a letter or digit.
func validRelease(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum || !alnum && !strings.ContainsRune("._+~:-", rune(c)) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Drift asks every host of in.Rollout for its release (targets.current)
// and compares it with the store's record, changing nothing: one item per
// host, as in the review. It needs in.Plan, in.Rollout, in.Store and
// in.Dialer; nil when the plan has no targets.current.
func Drift(ctx context.Context, in Input) []Item {
	if len(in.Rollout.Current) == 0 {
		return nil
	}
	ro := *in.Rollout
	ro.Facts = nil
	in.Rollout = &ro
	r := &Report{}
	r.probeHosts(ctx, in)
	return r.Items
}
