package review

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// hostProbes is everything the review asks one host: its facts and,
// with targets.current, the release it runs. They go in one script.
type hostProbes struct {
	host    *rollout.Host // nil: the controller
	checks  []*rollout.Check
	facts   []*rollout.Fact
	current *rollout.CurrentProbe
	timeout time.Duration
}

// hostAnswer is what the host's script said.
type hostAnswer struct {
	g   check.Gathered
	err error
}

// probeHosts gathers the fact probes and targets.current of every host
// with one script per host, hosts in parallel, and adds an item per fact
// and host (Kind "facts") and per host for drift (Kind "drift").
func (r *Report) probeHosts(ctx context.Context, in Input) {
	if in.Dialer == nil || (len(in.Rollout.Facts) == 0 && len(in.Rollout.Current) == 0) {
		return
	}
	groups := groupProbes(in.Rollout)
	answers := make([]hostAnswer, len(groups))
	limit := in.Parallel
	if limit <= 0 {
		limit = 50
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, p := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			answers[i] = probe(ctx, in, p)
		}()
	}
	wg.Wait()
	// Items in plan order: facts check by check, then drift host by host.
	for _, c := range in.Rollout.Facts {
		for gi, p := range groups {
			for fi, pc := range p.checks {
				if pc.Name != c.Name || !sameCheck(c, p.host, pc) {
					continue
				}
				a := answers[gi]
				var obs map[string]string
				why := ""
				switch {
				case a.err != nil && fi >= len(a.g.Facts):
					why = a.err.Error()
				case a.err != nil && len(a.g.Facts[fi]) == 0:
					why = a.err.Error()
				default:
					obs = a.g.Facts[fi]
				}
				res := check.JudgeFact(p.facts[fi], obs, why)
				r.add(Item{Kind: "facts", Name: fmt.Sprintf("preflight %q", c.Name), Host: hostName(p.host),
					OK: res.OK, Detail: res.Detail, Found: res.Found, Want: res.Want, Unknown: res.Unknown})
			}
		}
	}
	if len(in.Rollout.Current) > 0 {
		r.drift(ctx, in, groups, answers)
	}
}

// sameCheck reports whether pc is c's rendering for host h.
func sameCheck(c *rollout.Check, h *rollout.Host, pc *rollout.Check) bool {
	if len(c.Targets) == 0 {
		return h == nil && pc == c
	}
	for i, t := range c.Targets {
		if h != nil && t.Name == h.Name && c.PerTarget[i] == pc {
			return true
		}
	}
	return false
}

func hostName(h *rollout.Host) string {
	if h == nil {
		return ""
	}
	return h.Name
}

// groupProbes collects each host's probes, hosts in name order, the
// controller first.
func groupProbes(ro *rollout.Rollout) []*hostProbes {
	byHost := map[string]*hostProbes{}
	get := func(h *rollout.Host) *hostProbes {
		key := "\x00controller"
		if h != nil {
			key = h.Name
		}
		p := byHost[key]
		if p == nil {
			p = &hostProbes{host: h}
			byHost[key] = p
		}
		return p
	}
	add := func(p *hostProbes, c *rollout.Check) {
		p.checks = append(p.checks, c)
		p.facts = append(p.facts, c.Fact)
		p.timeout = max(p.timeout, c.Timeout)
	}
	for _, c := range ro.Facts {
		if len(c.Targets) == 0 {
			add(get(nil), c)
			continue
		}
		for i, h := range c.Targets {
			add(get(h), c.PerTarget[i])
		}
	}
	for _, cp := range ro.Current {
		p := get(cp.Host)
		p.current = cp
		p.timeout = max(p.timeout, rollout.DefaultCheckTimeout)
	}
	keys := make([]string, 0, len(byHost))
	for k := range byHost {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*hostProbes, 0, len(keys))
	for _, k := range keys {
		out = append(out, byHost[k])
	}
	return out
}

// probe runs one host's script.
func probe(ctx context.Context, in Input, p *hostProbes) hostAnswer {
	if p.timeout <= 0 {
		p.timeout = rollout.DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := in.Dialer.Dial(ctx, p.host)
	if err != nil {
		return hostAnswer{g: check.Gathered{CurrentRC: -1}, err: err}
	}
	defer conn.Close()
	env := map[string]string{"GOLIVE_RELEASE": in.Rollout.Release, "GOLIVE_PREVIOUS": in.Rollout.Previous}
	if p.host != nil {
		env["GOLIVE_HOST"], env["GOLIVE_ADDRESS"] = p.host.Name, p.host.Address
	}
	cur := ""
	if p.current != nil {
		cur = p.current.Run
	}
	g, err := check.GatherFacts(ctx, conn, p.facts, cur, p.current != nil, env)
	return hostAnswer{g: g, err: err}
}

// liveOf reads the releases the store records as live, by host.
func liveOf(ctx context.Context, in Input) (map[string]store.LiveRelease, error) {
	return in.Store.Live(ctx, in.Plan.Name, in.Plan.Env)
}
