package cli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// isBackoutVerdict reports whether ev is the engine's verdict on a
// backed-out host's restored release (see engine/backout_verify.go).
func isBackoutVerdict(ev store.Event) bool {
	if ev.Kind != store.KindHost || ev.Host == "" {
		return false
	}
	switch ev.Action {
	case engine.ActionBackoutVerified, engine.ActionBackoutUnhealthy, engine.ActionBackoutUnverified:
		return true
	}
	return false
}

// backoutVerdicts says, per backed-out host, how its backout was verified:
// "backed out, verified healthy at 1.0", "backed out, NOT healthy at 1.0:
// ...", "backed out, not verified: first release ...". The latest verdict
// of each stage counts (a later `golive backout` verifies again); a host
// backed out in several stages gets them all, oldest stage first.
func backoutVerdicts(events []store.Event) map[string]string {
	type hk struct{ stage, host string }
	latest := map[hk]string{}
	var order []hk
	for _, ev := range events {
		if !isBackoutVerdict(ev) {
			continue
		}
		k := hk{ev.Stage, ev.Host}
		if _, seen := latest[k]; !seen {
			order = append(order, k)
		}
		latest[k] = ev.Message
	}
	byHost := map[string][]string{}
	for _, k := range order {
		if msg := latest[k]; msg != "" && !slices.Contains(byHost[k.host], msg) {
			byHost[k.host] = append(byHost[k.host], msg)
		}
	}
	out := map[string]string{}
	for h, msgs := range byHost {
		out[h] = verdictText("backed out, " + strings.Join(msgs, "; "))
	}
	return out
}

// verdictText makes a verdict one printable line: it holds a check's
// detail, which comes from a target, so line breaks become spaces and
// other control characters are escaped (\x1b), never sent to a terminal.
func verdictText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// verdictHosts returns m's keys in order.
func verdictHosts[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// verdictLines are the lines `status` prints about backed-out hosts: one
// per host ("h1: backed out, verified healthy at 1.0"); past 50 hosts, one
// per verdict with its number of hosts, and still one per host whose
// restored release is not healthy.
func verdictLines(verdicts map[string]string) []string {
	hosts := verdictHosts(verdicts)
	var lines []string
	if len(hosts) <= 50 {
		for _, h := range hosts {
			lines = append(lines, h+": "+verdicts[h])
		}
		return lines
	}
	count := map[string]int{}
	for _, h := range hosts {
		if v := verdicts[h]; strings.Contains(v, "NOT healthy") {
			lines = append(lines, h+": "+v)
		} else {
			count[v]++
		}
	}
	for _, v := range verdictHosts(count) {
		lines = append(lines, fmt.Sprintf("%d hosts: %s", count[v], v))
	}
	return lines
}
