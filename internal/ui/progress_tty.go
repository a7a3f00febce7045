package ui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	barWidth   = 20
	cursorUp   = "\x1b[%dA" // move the cursor up n lines
	clearLine  = "\x1b[2K"  // clear the whole line
	clearBelow = "\x1b[J"   // clear from the cursor to the end of the screen
)

// symbol is the one-character, coloured form of a cell.
func (c cell) symbol(st Style) string {
	switch c {
	case cellRunning:
		return st.Cyan("▶")
	case cellOK:
		return st.Green("✔")
	case cellFailed:
		return st.Red("✘")
	case cellBackedOut:
		return st.Yellow("↺")
	case cellBackoutFailed:
		return st.Bold(st.Red("!"))
	case cellSkipped:
		return st.Dim("–")
	case cellTerminated:
		return st.Yellow("✘")
	}
	return st.Dim("·")
}

// draw writes the current frame over the previous one, unless nothing
// changed. p.mu is held.
func (p *Progress) draw(now time.Time) {
	lines := p.frame(now)
	for i, l := range lines {
		lines[i] = cutVisible(l, p.o.Width-1) // a wrapped line would break the cursor arithmetic
	}
	frame := strings.Join(lines, "\n")
	p.tty.lastDraw, p.tty.drawn, p.tty.dirty = now, true, false
	if frame == p.tty.lastFrame {
		return
	}
	var b strings.Builder
	if p.tty.lastLines > 0 {
		fmt.Fprintf(&b, cursorUp, p.tty.lastLines)
	}
	for _, l := range lines {
		b.WriteString("\r" + clearLine + l + "\n")
	}
	if len(lines) < p.tty.lastLines {
		b.WriteString(clearBelow)
	}
	p.write(b.String())
	p.tty.lastLines, p.tty.lastFrame = len(lines), frame
}

// frame renders the header, the stage bars and matrices, verify and what
// needs attention, one string per screen line.
func (p *Progress) frame(now time.Time) []string {
	lines := []string{p.header(now)}
	show := p.visibleRows(p.rowBudget())
	nameW := 0
	for _, sv := range p.stages {
		nameW = max(nameW, runeLen(sv.name))
	}
	for _, sv := range p.stages {
		lines = append(lines, p.bar(sv, nameW))
		if sv.started {
			lines = append(lines, p.matrix(sv, show)...)
		}
	}
	st := p.o.Style
	if len(p.verify) > 0 {
		var parts []string
		for _, c := range p.verify {
			parts = append(parts, c.state.symbol(st)+" "+oneLine(c.name))
		}
		lines = append(lines, st.Bold("verify")+"  "+strings.Join(parts, "  "))
	}
	if len(p.attn) > 0 {
		lines = append(lines, st.Bold(st.Red("needs attention:"))+" "+strings.Join(p.attn, ", "))
	}
	return lines
}

func (p *Progress) header(now time.Time) string {
	st := p.o.Style
	name := st.Bold(oneLine(p.r.Plan))
	if p.r.Env != "" {
		name += " → " + st.Bold(oneLine(p.r.Env))
	}
	state := p.state
	if state == "" {
		state = "starting"
	}
	h := fmt.Sprintf("%s  run %s  release %s  %s  elapsed %s", name, oneLine(p.runID), oneLine(p.r.Release),
		stateColour(st, state), elapsedText(p.elapsed(now)))
	if p.reason != "" {
		h += "  " + st.Dim(oneLine(p.reason))
	}
	return h
}

func stateColour(st Style, s string) string {
	switch s {
	case "succeeded":
		return st.Green(s)
	case "failed", "backout_failed":
		return st.Bold(st.Red(s))
	case "backing_out", "backed_out", "aborted", "paused":
		return st.Yellow(s)
	}
	return st.Cyan(s)
}

// elapsedText is 12s, 1m05s or 1h02m03s.
func elapsedText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return shortDuration(d.Truncate(time.Second))
}

// counts counts the hosts of a stage (or of some of them) by state.
type counts map[cell]int

func countHosts(hosts []*hostView, skip map[*hostView]bool) counts {
	c := counts{}
	for _, h := range hosts {
		if !skip[h] {
			c[h.state]++
		}
	}
	return c
}

// bar is a stage's line: name, progress bar, hosts done, current batch,
// failures and the stage's state. Done are the hosts the release is on
// (finished and healthy): a host that failed, was backed out or was
// stopped is not done, and the counts after the bar say what it is.
func (p *Progress) bar(sv *stageView, nameW int) string {
	st := p.o.Style
	c := countHosts(sv.hosts, nil)
	total := len(sv.hosts)
	done := c[cellOK]
	fill := 0
	if total > 0 {
		fill = done * barWidth / total
	}
	hashes := strings.Repeat("#", fill)
	switch {
	case c[cellFailed]+c[cellBackoutFailed] > 0 || sv.state == cellFailed:
		hashes = st.Red(hashes)
	case sv.state == cellOK:
		hashes = st.Green(hashes)
	default:
		hashes = st.Cyan(hashes)
	}
	line := fmt.Sprintf("%s [%s%s] %d/%d hosts", st.Bold(pad(oneLine(sv.name), nameW)), hashes, strings.Repeat(".", barWidth-fill), done, total)
	if sv.batch > 0 {
		line += fmt.Sprintf("  batch %d/%d", sv.batch, len(sv.batches))
		if sv.batch <= len(sv.batches) && sv.batches[sv.batch-1].Canary {
			line += " (canary)"
		}
	}
	if extra := countText(st, c, false); extra != "" {
		line += "  " + extra
	}
	switch sv.state {
	case cellPending:
		line += "  " + st.Dim("pending")
	case cellOK:
		line += "  " + st.Green("done")
	case cellFailed:
		line += "  " + st.Bold(st.Red("FAILED"))
	}
	return line
}

// countText lists the counts worth showing: failures and backouts, and with
// all also ok, running and pending.
func countText(st Style, c counts, all bool) string {
	var parts []string
	add := func(n int, what string, paint func(string) string) {
		if n > 0 || (all && (what == "ok" || what == "running" || what == "failed")) {
			parts = append(parts, paint(fmt.Sprintf("%d %s", n, what)))
		}
	}
	id := func(s string) string { return s }
	if all {
		add(c[cellOK], "ok", id)
		add(c[cellRunning], "running", id)
	}
	add(c[cellFailed], "failed", st.Red)
	add(c[cellBackedOut], "backed out", st.Yellow)
	add(c[cellBackoutFailed], "backout failed", st.Red)
	add(c[cellTerminated], "terminated", st.Yellow)
	if all {
		add(c[cellPending], "pending", id)
	}
	return strings.Join(parts, ", ")
}

// matrix is a started stage's host × step matrix: a header naming the
// columns, the visible hosts' rows, and a line summing up the others.
func (p *Progress) matrix(sv *stageView, show map[*hostView]bool) []string {
	st := p.o.Style
	hostW := 4
	for _, h := range sv.hosts {
		if show[h] {
			hostW = max(hostW, runeLen(h.name))
		}
	}
	var cols, legend []string
	for i, name := range sv.steps {
		n := strconv.Itoa((i + 1) % 10)
		cols = append(cols, n)
		legend = append(legend, n+" "+oneLine(name))
	}
	if sv.hasHealth {
		cols = append(cols, " H")
		legend = append(legend, "H health")
	}
	lines := []string{"  " + st.Dim(pad("host", hostW)+"  "+strings.Join(cols, " ")+"   "+strings.Join(legend, "  "))}
	hidden := map[*hostView]bool{}
	for _, h := range sv.hosts {
		if !show[h] {
			hidden[h] = true
			continue
		}
		lines = append(lines, p.row(sv, h, hostW))
	}
	if n := len(hidden); n > 0 {
		c := countHosts(sv.hosts, show)
		lines = append(lines, fmt.Sprintf("  ... and %d more %s (%s)", n, pluralWord(n, "host"), countText(st, c, true)))
	}
	return lines
}

func (p *Progress) row(sv *stageView, h *hostView, hostW int) string {
	st := p.o.Style
	cells := make([]string, 0, len(h.steps)+1)
	for _, c := range h.steps {
		cells = append(cells, c.symbol(st))
	}
	name := pad(oneLine(h.name), hostW)
	switch h.state {
	case cellRunning:
		name = st.Cyan(name)
	case cellFailed, cellBackoutFailed:
		name = st.Red(name)
	}
	line := "  " + name + "  " + strings.Join(cells, " ")
	if sv.hasHealth {
		line += "  " + h.health.symbol(st)
	}
	if h.note != "" {
		note := h.note
		switch h.state {
		case cellFailed, cellBackoutFailed:
			note = st.Red(note)
		case cellBackedOut:
			note = st.Yellow(note)
		default:
			note = st.Dim(note)
		}
		line += "  " + note
	}
	return line
}

func pluralWord(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

// rowBudget is how many host rows the matrix may show: MaxProgressRows,
// fewer when the terminal's height is known and the frame would not fit.
func (p *Progress) rowBudget() int {
	budget := MaxProgressRows
	if p.o.Height <= 0 {
		return budget
	}
	fixed := 1 + len(p.stages) + 2 // header, bars, verify and attention
	for _, sv := range p.stages {
		if sv.started {
			fixed += 2 // matrix header, "... and N more"
		}
	}
	return max(0, min(budget, p.o.Height-1-fixed))
}

// visibleRows picks at most budget host rows of the started stages, the
// most interesting first: failed hosts, working ones, backed out ones, the
// rest of the current batch, finished ones, then pending ones. The rows
// shown keep the rollout's order.
func (p *Progress) visibleRows(budget int) map[*hostView]bool {
	type cand struct {
		h    *hostView
		prio int
	}
	var all []cand
	for _, sv := range p.stages {
		if !sv.started {
			continue
		}
		for _, h := range sv.hosts {
			all = append(all, cand{h, rowPriority(sv, h)})
		}
	}
	show := map[*hostView]bool{}
	if len(all) > budget {
		sort.SliceStable(all, func(i, j int) bool { return all[i].prio < all[j].prio })
		all = all[:budget]
	}
	for _, c := range all {
		show[c.h] = true
	}
	return show
}

func rowPriority(sv *stageView, h *hostView) int {
	switch {
	case h.state == cellFailed || h.state == cellBackoutFailed:
		return 0
	case h.state == cellRunning:
		return 1
	case h.state == cellBackedOut:
		return 2
	case h.note != "": // needs attention
		return 0
	case h.state == cellPending && sv.state == cellRunning && h.batch == sv.batch:
		return 3
	case h.state == cellOK:
		return 4
	}
	return 5
}

// cutVisible cuts s to at most n visible characters, keeping escape
// sequences whole and resetting colour if it cut inside a coloured part.
func cutVisible(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(ansiRE.ReplaceAllString(s, "")) <= n {
		return s
	}
	var b strings.Builder
	visible, escapes := 0, false
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			if loc := ansiRE.FindStringIndex(s[i:]); loc != nil && loc[0] == 0 {
				b.WriteString(s[i : i+loc[1]])
				i += loc[1]
				escapes = true
				continue
			}
		}
		if visible == n-1 {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		visible++
		i += size
	}
	if escapes {
		b.WriteString(reset)
	}
	return b.String()
}
