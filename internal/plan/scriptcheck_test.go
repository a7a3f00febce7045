package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/values"
)

func loadString(t *testing.T, text string) (*Plan, Diags) {
	t.Helper()
	doc, diags := ReadDocument("p.yaml", []byte(text))
	if diags != nil {
		t.Fatalf("read: %v", diags)
	}
	p, diags := doc.Decode("")
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	p.File = "p.yaml"
	return p, append(diags, Validate(p)...)
}

const scriptPlan = `golive: 1
name: demo
vars:
  dir: /srv/app
  root: ${{ env.ROOT }}
  quoted: ${{ shell(env.ROOT) }}
  sub: ${{ vars.root }}/sub
  color: {value: blue, settable: "^(blue|green)$"}
  free: {value: x, settable: ".*"}
  spaced: {value: a, settable: "[a-z ]+"}
targets:
  defaults: {transport: local}
  %s
  hosts:
    h1: {dir: hosts/h1, roles: [web], vars: {w: "1"}}
preflight:
  - {name: pf, on: web, run: 'test -d ${{ env.PF }}'}
stages:
  - name: web
    on: web
    steps:
      - name: s
        run: |
          # don't: a comment's quote does not count
          cd ${{ vars.dir }} && echo ${{ release.version }} ${{ host.name }} ${{ vars.color }}
          echo ${{ env.A }} ${{ shell(env.B) }} ${{ env.C ?? "x" }}
          echo ${{ host.vars.w }} ${{ vars.root }} ${{ vars.quoted }} ${{ vars.sub }}
          echo ${{ vars.free }} ${{ vars.spaced }} ${{ shell(vars.free) }}
        backout: echo "${{ shell(vars.dir) }}"
      - name: t
        run: echo '${{ shell(env.B) }}'
        backout: echo ${{ shell(env.B) + env.D }}
      - name: u
        run: |
          cat > f <<EOF
          ${{ shell(env.B) }}
          EOF
        backout: |
          cat <<-'X'
          	${{ env.E }}
          	X
      - name: w
        run: |
          cat <<EOF; cat <<"END" # two
          a
          EOF
          b ${{ shell(env.B) }}
          END
          echo ${{ shell(env.B) }} <<< "x"
        backout: echo "it's" ${{ shell(env.B) }} \' ${{ shell(env.B) }}
    health:
      - {name: h, run: 'curl ${{ env.URL }}'}
verify:
  - {name: v, run: 'true ${{ shell(env.V) }}', local: true}
`

func warnings(ds Diags) string {
	var out []string
	for _, d := range ds.Warnings() {
		out = append(out, d.String())
	}
	return strings.Join(out, "\n")
}

func TestScriptWarnings(t *testing.T) {
	_, ds := loadString(t, strings.Replace(scriptPlan, "%s", "", 1))
	if ds.HasErrors() {
		t.Fatalf("errors: %v", ds.Errors())
	}
	got := warnings(ds)
	for _, want := range []string{
		`p.yaml:17:30: warning: preflight check "pf" run: env.PF reaches the script outside shell(), and the controller's environment is not part of the plan: write ${{ shell(env.PF) }}`,
		`step "s" run: env.A reaches the script outside shell()`,
		`step "s" run: env.C reaches the script outside shell()`,
		`step "s" run: vars.root reaches the script outside shell(), and its value uses env.ROOT outside shell()`,
		`step "s" run: vars.sub reaches the script outside shell(), and its value uses vars.root outside shell()`,
		`step "s" run: vars.free reaches the script outside shell(), and it can be set over the network, and its settable pattern allows any character`,
		`step "s" run: vars.spaced reaches the script outside shell(), and it can be set over the network, and its settable pattern allows ' '`,
		`step "s" backout: shell() is written inside "..."`,
		`step "t" run: shell() is written inside '...'`,
		`step "t" backout: env.D reaches the script outside shell()`,
		`health check "h" run: env.URL reaches the script outside shell()`,
		`step "u" run: shell() is written inside a here-document`,
		`step "u" backout: env.E reaches the script outside shell()`,
		`step "w" run: shell() is written inside a here-document`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing warning %q", want)
		}
	}
	for _, not := range []string{"env.B", `step "w" backout`, `"u" backout: shell`, "vars.dir reaches", "vars.color", "vars.quoted", "release.version", "host.name",
		"host.vars.w", "env.V", "'...'\n" + `p.yaml:25`} {
		if strings.Contains(got, not) {
			t.Errorf("unexpected warning about %s:\n%s", not, got)
		}
	}
	if t.Failed() {
		t.Logf("warnings:\n%s", got)
	}
}

// With an inventory, host vars are someone else's file.
func TestScriptWarningsInventoryHostVars(t *testing.T) {
	_, ds := loadString(t, strings.Replace(scriptPlan, "%s", "inventory: inv.ini", 1))
	if got := warnings(ds); !strings.Contains(got, `host.vars.w reaches the script outside shell(), and host vars may come from an inventory file`) {
		t.Errorf("no warning for host.vars.w:\n%s", got)
	}
}

func TestPatternAllowsShellSpecial(t *testing.T) {
	for pattern, want := range map[string]string{
		"^(blue|green)$": "", "[0-9]{1,6}": "", `^v[0-9]+\.[0-9]+$`: "", "[A-Za-z0-9_-]+": "",
		".*": "any character", "[^a]": "control characters", `a\$`: `'$'`, "[a-z;]+": `';'`, "a b": `' '`, `[!-/]`: `' '`,
	} {
		if got := patternAllowsShellSpecial(pattern); (got == "") != (want == "") || (want != "" && got != want && want != `' '`) {
			t.Errorf("patternAllowsShellSpecial(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestOverride(t *testing.T) {
	p, ds := loadString(t, strings.Replace(scriptPlan, "%s", "", 1))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	mustRefuse := func(name, value string, from Origin, want string) {
		t.Helper()
		err := p.Override(name, value, from)
		var ve *values.Error
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), want) {
			t.Errorf("Override(%q, %q) = %v, want a *values.Error with %q", name, value, err, want)
		}
	}
	mustRefuse("color", "red", FromOperator, `var color "red": the value does not match the var's settable pattern ^(blue|green)$`)
	mustRefuse("color", "blue; touch /tmp/x", FromOperator, "does not match")
	mustRefuse("color", "blue\ngreen", FromNetwork, "does not match") // anchors do not stop at a newline
	mustRefuse("dir", "/x", FromNetwork, "not settable")
	mustRefuse("nope", "x", FromOperator, `the plan has no var "nope"`)
	mustRefuse("dir", "a\x00b", FromOperator, `character \x00 at position 2`)
	mustRefuse("dir", "a\xffb", FromOperator, `character \xff at position 2`)
	mustRefuse("dir", strings.Repeat("x", values.MaxOverride+1), FromOperator, "bytes long")
	if err := p.Override("color", "green", FromNetwork); err != nil {
		t.Errorf("settable var from the network: %v", err)
	}
	if err := p.Override("dir", `/srv/it's "$(x)"`, FromOperator); err != nil {
		t.Errorf("any var from the operator: %v", err)
	}
	if v := p.Vars[p.varIndex("dir")]; v.Value != `/srv/it's "$(x)"` || !v.Overridden {
		t.Errorf("dir = %+v", v)
	}
	if v, _ := p.Vars.Get("color"); v != "green" {
		t.Errorf("color = %q", v)
	}
	if err := p.Override("root", "${{ secrets.X }}", FromOperator); err != nil {
		t.Fatal(err)
	}
	if ds := Validate(p); ds.HasErrors() {
		t.Errorf("an overridden value is not an expression: %v", ds.Errors())
	}
}

func TestScanScriptContexts(t *testing.T) {
	tr := &scriptTaint{vars: map[string]string{}}
	for script, want := range map[string]string{
		"echo ${{ shell(env.A) }}":                            "",
		"echo \"${{ shell(env.A) }}\"":                        `"..."`,
		"echo '${{ shell(env.A) }}'":                          `'...'`,
		"echo \"it's\" ${{ shell(env.A) }}":                   "",
		"echo \\\" ${{ shell(env.A) }}":                       "",
		"# it's\necho ${{ shell(env.A) }}":                    "",
		"echo a#'b ${{ shell(env.A) }}'":                      `'...'`,
		"cat <<EOF\n${{ shell(env.A) }}\nEOF\n":               "a here-document",
		"cat <<EOF\nx\nEOF\necho ${{ shell(env.A) }}":         "",
		"cat <<-E\n\tx\n\tE\necho ${{ shell(env.A) }}":        "",
		"cat <<'E' >f; echo x\ny ${{ shell(env.A) }}\nE\n":    "a here-document",
		"cat <<E\n${{ env.A }}E\nE\necho ${{ shell(env.A) }}": "",
		"cat <<< ${{ shell(env.A) }}":                         "",
		"cat <<E\nE ${{ shell(env.A) }}\nE\n":                 "a here-document",
	} {
		if got := scanScript(script, tr, true).quotedShell; got != want {
			t.Errorf("%q: shell() inside %q, want %q", script, got, want)
		}
	}
}
