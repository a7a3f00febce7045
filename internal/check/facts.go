package check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
)

// The fact probes of one host are gathered by one generated POSIX sh
// script run in one session (FactScript). It works with dash, bash and
// busybox sh, on Debian, RHEL-like and Alpine hosts, and needs only od,
// awk, sed, head and tr besides what each probe looks at (dpkg-query or
// rpm or apk, systemctl or pidof, df, id, stat, sha256sum).
//
// Every value taken from the plan is put into the script single-quoted
// (shQuote), so it is never code; numbers are formatted by Go. The
// script reports each finding as one line
//
//	<nonce> <probe> <field> <hex>
//
// where nonce is random per run, probe is the fact's index or "c" for
// targets.current, field a word and hex the value's bytes in lowercase
// hex. ParseFacts reads only such lines and checks every field and value
// strictly; anything else the target prints is ignored, and a finding
// that is missing or malformed is unknown (and fails its check).

// maxFactValue bounds one decoded value.
const maxFactValue = 4096

// FactScript returns the script that gathers facts and, when withCurrent,
// runs current (targets.current) in a subshell.
func FactScript(nonce string, facts []*rollout.Fact, current string, withCurrent bool) string {
	var b strings.Builder
	b.WriteString(factPrelude(nonce))
	for i, f := range facts {
		fmt.Fprintf(&b, "\n# fact %d: %s\n", i, f.Kind)
		b.WriteString(probeScript(strconv.Itoa(i), f))
	}
	if withCurrent {
		b.WriteString("\n# targets.current\n")
		fmt.Fprintf(&b, "out=$(sh -c %s </dev/null 2>/dev/null); rc=$?\n", shQuote(current))
		b.WriteString("say c rc \"$rc\"\nsay c out \"$out\"\n")
	}
	b.WriteString("say end done ok\n")
	return b.String()
}

func factPrelude(nonce string) string {
	return `# golive fact probes: read-only
P=` + shQuote(nonce) + `
LC_ALL=C; export LC_ALL
hx() { od -An -v -tx1 | tr -d ' \n\t'; }
say() { printf '%s %s %s %s\n' "$P" "$1" "$2" "$(printf '%s' "$3" | head -c 4096 | hx)"; }
have() { command -v "$1" >/dev/null 2>&1; }
lim() { if have timeout; then timeout 10 "$@"; else "$@"; fi; }
`
}

// probeScript is the part of the script that probes one fact; id names it
// in the output.
func probeScript(id string, f *rollout.Fact) string {
	q := shQuote
	switch f.Kind {
	case "package":
		return packageProbe(id, f)
	case "command":
		return `c=` + q(f.Name) + `
if p=$(command -v "$c" 2>/dev/null) && [ -n "$p" ]; then
  say ` + id + ` found yes; say ` + id + ` path "$p"
` + versionOutput(id, f) + `else say ` + id + ` found no
fi
`
	case "service":
		return serviceProbe(id, f)
	case "port":
		return fmt.Sprintf(`if [ -r /proc/net/tcp ]; then
  say %s listening "$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=':%04X' '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { print f ? "yes" : "no" }')"
fi
`, id, f.Port)
	case "disk":
		return `say ` + id + ` avail_kib "$(df -Pk ` + q(f.Path) + ` 2>/dev/null | awk 'NR == 2 { for (i = 2; i <= NF; i++) if ($i ~ /%$/) { print $(i - 1); exit } }')"
`
	case "memory":
		return `say ` + id + ` avail_kib "$(awk '/^MemAvailable:/ { a = $2 } /^(MemFree|Buffers|Cached):/ { f += $2 } END { if (a != "") print a; else if (f > 0) print f }' /proc/meminfo 2>/dev/null)"
`
	case "user":
		return `u=` + q(f.Name) + `
if uid=$(id -u "$u" 2>/dev/null); then say ` + id + ` exists yes; say ` + id + ` uid "$uid"; else say ` + id + ` exists no; fi
`
	case "file":
		s := `f=` + q(f.Path) + `
if [ -e "$f" ] || [ -L "$f" ]; then
  say ` + id + ` exists yes
  say ` + id + ` mode "$(stat -L -c '%a' "$f" 2>/dev/null)"
  say ` + id + ` owner "$(stat -L -c '%U' "$f" 2>/dev/null)"
`
		if f.SHA256 != "" {
			s += `  say ` + id + ` sha256 "$(sha256sum < "$f" 2>/dev/null | awk '{ print $1 }')"
`
		}
		return s + `else say ` + id + ` exists no
fi
`
	}
	return ""
}

// packageProbe asks dpkg, else rpm, else apk.
func packageProbe(id string, f *rollout.Fact) string {
	q := shQuote
	return `n=` + q(f.Name) + `
if have dpkg-query; then
  say ` + id + ` mgr dpkg
  v=$(dpkg-query -W -f='${Status}|${Version}\n' "$n" 2>/dev/null | grep '^install ok installed|' | head -n 1)
  if [ -n "$v" ]; then say ` + id + ` installed yes; say ` + id + ` version "${v#*|}"; else say ` + id + ` installed no; fi
elif have rpm; then
  say ` + id + ` mgr rpm
  if v=$(rpm -q --qf '%{EPOCH}:%{VERSION}-%{RELEASE}\n' "$n" 2>/dev/null); then
    v=$(printf '%s\n' "$v" | head -n 1); say ` + id + ` installed yes; say ` + id + ` version "${v#(none):}"
  else say ` + id + ` installed no; fi
elif have apk; then
  say ` + id + ` mgr apk
  if apk info -e "$n" >/dev/null 2>&1; then say ` + id + ` installed yes; else say ` + id + ` installed no; fi
else say ` + id + ` mgr none
fi
`
}

// serviceProbe asks systemd when it runs, else looks for a process.
func serviceProbe(id string, f *rollout.Fact) string {
	q := shQuote
	return `s=` + q(f.Name) + `
if [ -d /run/systemd/system ] && have systemctl; then
  say ` + id + ` via systemd
  say ` + id + ` load "$(systemctl show -p LoadState "$s" 2>/dev/null | sed -n 's/^LoadState=//p')"
  say ` + id + ` active "$(systemctl is-active "$s" 2>/dev/null)"
else
  say ` + id + ` via process
  if have pidof; then
    if pidof "$s" >/dev/null 2>&1; then say ` + id + ` running yes; else say ` + id + ` running no; fi
  elif have pgrep; then
    if pgrep -x "$s" >/dev/null 2>&1; then say ` + id + ` running yes; else say ` + id + ` running no; fi
  fi
fi
`
}

// versionOutput runs `NAME --version` only when a version is wanted: a
// command is not started just to be looked at.
func versionOutput(id string, f *rollout.Fact) string {
	if f.Version == "" {
		return ""
	}
	return `  say ` + id + ` output "$(lim "$p" --version </dev/null 2>&1 | head -c 2048)"
`
}

// shQuote single-quotes s for sh: it is one word and never code.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Nonce returns a random token that marks a fact script's own lines.
func Nonce() string {
	var b [12]byte
	rand.Read(b[:])
	return "golive-fact-" + hex.EncodeToString(b[:])
}

// Gathered is what one host's fact script reported.
type Gathered struct {
	Facts []map[string]string // by fact index: field -> decoded value
	// CurrentRC and CurrentOut are targets.current's exit status and
	// output; CurrentRC is -1 when the script did not report it.
	CurrentRC  int
	CurrentOut string
	Complete   bool // the script reached its end
}

// ParseFacts reads the output of FactScript for n facts. Lines without
// nonce, with an unknown probe or field, a repeated field or a value that
// is not lowercase hex of at most maxFactValue bytes are ignored.
func ParseFacts(out, nonce string, n int) Gathered {
	g := Gathered{Facts: make([]map[string]string, n), CurrentRC: -1}
	for i := range g.Facts {
		g.Facts[i] = map[string]string{}
	}
	seenC := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		parts := strings.Split(strings.TrimSuffix(line, "\r"), " ")
		if len(parts) != 4 || parts[0] != nonce || !isWord(parts[2]) {
			continue
		}
		if len(parts[3]) > 2*maxFactValue || strings.ToLower(parts[3]) != parts[3] {
			continue
		}
		raw, err := hex.DecodeString(parts[3])
		if err != nil {
			continue
		}
		val := string(raw)
		switch parts[1] {
		case "end":
			g.Complete = true
		case "c":
			if seenC[parts[2]] {
				continue
			}
			seenC[parts[2]] = true
			switch parts[2] {
			case "rc":
				if rc, err := strconv.Atoi(val); err == nil && isDigits(val) && rc < 256 {
					g.CurrentRC = rc
				}
			case "out":
				g.CurrentOut = val
			}
		default:
			i, err := strconv.Atoi(parts[1])
			if err != nil || !isDigits(parts[1]) || i >= n {
				continue
			}
			if _, dup := g.Facts[i][parts[2]]; dup {
				continue
			}
			g.Facts[i][parts[2]] = val
		}
	}
	return g
}

func isWord(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// GatherFacts runs one host's fact script on conn and parses its output.
// env is added to the script's environment (GOLIVE_HOST, ...), so that
// targets.current sees it too.
func GatherFacts(ctx context.Context, conn transport.Conn, facts []*rollout.Fact, current string, withCurrent bool, env map[string]string) (Gathered, error) {
	nonce := Nonce()
	out := &transport.Tail{Max: 1 << 20}
	script := FactScript(nonce, facts, current, withCurrent)
	res, err := conn.Run(ctx, transport.Command{Script: script, Env: env, Stdout: out, Stderr: nil})
	g := ParseFacts(out.String(), nonce, len(facts))
	if err != nil {
		return g, err
	}
	if !g.Complete {
		return g, fmt.Errorf("fact script ended early (exit %d)", res.ExitCode)
	}
	return g, nil
}
