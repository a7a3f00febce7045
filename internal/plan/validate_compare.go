package plan

import "strings"

// monitorKind checks that a monitor has exactly one of condition or
// compare, and the rules of compare: a baseline golive knows, max_ratio,
// and a query that scopes itself with ${{ hosts.regex }} or
// ${{ hosts.names_regex }} (without it both sides would ask the same
// question and always agree).
func (v *validator) monitorKind(m *Monitor) {
	switch {
	case m.Condition == "" && m.Compare == nil && !m.Bad("compare"):
		v.errorf(m.Pos, "monitor %q needs a condition over result, like \"result < 0.01\", or compare: {baseline: untouched, max_ratio: 1.5}", m.Name)
	case m.Condition != "" && m.Compare != nil:
		v.errorf(m.KeyPos("compare"), "monitor %q has both condition and compare: use one (compare judges by the ratio to the baseline)", m.Name)
	}
	usesHosts := m.Prometheus != nil && UsesHosts(m.Prometheus.Query)
	if m.Compare == nil {
		if usesHosts {
			v.errorf(m.Prometheus.ValPos("query"), "monitor %q: hosts.regex and hosts.names_regex are only known in a monitor with compare", m.Name)
		}
		if m.Has("inconclusive_limit") {
			v.errorf(m.KeyPos("inconclusive_limit"), "monitor %q: inconclusive_limit needs compare (a monitor with a condition fails when it has no data)", m.Name)
		}
		return
	}
	c := m.Compare
	if !c.Has("baseline") && !c.Bad("baseline") {
		v.errorf(c.Pos, "monitor %q: compare needs baseline: %s", m.Name, strings.Join(CompareBaselines, " or "))
	}
	if !c.Has("max_ratio") {
		v.errorf(c.Pos, "monitor %q: compare needs max_ratio, the largest canary/baseline ratio that passes, like 1.5", m.Name)
	}
	if c.Has("min_samples") && c.MinSamples < 1 {
		v.errorf(c.ValPos("min_samples"), "min_samples must be 1 or more")
	}
	switch {
	case m.Has("inconclusive_limit") && m.InconclusiveLimit < 1:
		v.errorf(m.ValPos("inconclusive_limit"), "inconclusive_limit must be 1 or more")
	case m.Has("inconclusive_limit") && m.InconclusiveLimit < c.MinSamples:
		v.errorf(m.ValPos("inconclusive_limit"), "monitor %q: inconclusive_limit %d is less than min_samples %d: every batch would pause while its first samples are collected (they are inconclusive: too few samples)", m.Name, m.InconclusiveLimit, c.MinSamples)
	}
	if m.Prometheus != nil && m.Prometheus.Query != "" && !usesHosts {
		v.errorf(m.Prometheus.ValPos("query"), "monitor %q: a compare query must select hosts with ${{ hosts.regex }} (addresses) or ${{ hosts.names_regex }} (names), e.g. errors{instance=~\"${{ hosts.regex }}\"}", m.Name)
	}
}
