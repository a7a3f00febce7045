package plan

import (
	"math"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Compare makes a monitor a comparison: its query is evaluated twice,
// with ${{ hosts.regex }} (or ${{ hosts.names_regex }}) matching the
// hosts of the current batch (the canary) and the hosts not yet released
// (the baseline); the evaluation fails when canary/baseline exceeds
// max_ratio.
type Compare struct {
	Meta       `yaml:"-"`
	Baseline   string `yaml:"baseline" doc:"hosts the batch is compared with: untouched (hosts of the run no step has started on)" enum:"untouched" required:"true"`
	MaxRatio   Ratio  `yaml:"max_ratio" doc:"largest canary/baseline ratio that passes, a number above 0, like 1.5" required:"true"`
	MinSamples int    `yaml:"min_samples" doc:"evaluations of the batch with data on both sides before a verdict; the verdict compares their means (default 1)" min:"1"`
}

// CompareBaselines lists the values compare.baseline accepts.
var CompareBaselines = []string{"untouched"}

// DefaultInconclusiveLimit is inconclusive_limit when it is not given.
const DefaultInconclusiveLimit = 3

// HostsMembers are the names ${{ hosts.X }} allows, in a compare
// monitor's query only.
var HostsMembers = []string{"regex", "names_regex"}

// Ratio is a positive number (an integer or a decimal).
type Ratio float64

func (r *Ratio) decodeNode(d *decoder, n *yaml.Node) {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
		d.errorf(posOf(n), "expected a number like 1.5, got %s", kindName(n))
		return
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		d.errorf(posOf(n), "expected a number above 0 like 1.5, got %s", n.Value)
		return
	}
	*r = Ratio(f)
}

// hostsRoot is the extra root a compare monitor's query may use.
var hostsRoot = map[string][]string{"hosts": HostsMembers}

// checkQueryTemplate is CheckTemplate for a monitor's prometheus.query,
// where ${{ hosts.regex }} and ${{ hosts.names_regex }} are known (the
// validator refuses them in a monitor without compare).
func checkQueryTemplate(s string, vars map[string]bool) error {
	segs, err := splitTemplate(s)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		if seg.isCode {
			if err := checkNames(seg.text, vars, false, hostsRoot); err != nil {
				return err
			}
		}
	}
	return nil
}

// UsesHosts reports whether a string's expressions read hosts.regex or
// hosts.names_regex.
func UsesHosts(s string) bool {
	segs, err := splitTemplate(s)
	if err != nil {
		return false
	}
	for _, seg := range segs {
		if seg.isCode && hostsRefRe.MatchString(seg.text) {
			return true
		}
	}
	return false
}

var hostsRefRe = regexp.MustCompile(`(^|[^A-Za-z0-9_.])hosts\s*(\.|\[)`)

// A compare monitor's query is rendered when the rollout is built, before
// its hosts are known: hosts.regex and hosts.names_regex render as these
// markers, which each evaluation replaces with the regex of one side.
const (
	HostsRegexMarker = "${{ hosts.regex }}"
	HostsNamesMarker = "${{ hosts.names_regex }}"
)

// HostsMarkers is the scope's hosts for rendering a compare query.
func HostsMarkers() map[string]any {
	return map[string]any{"regex": HostsRegexMarker, "names_regex": HostsNamesMarker}
}
