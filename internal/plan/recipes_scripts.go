package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The scripts recipes write. Every parameter and run-time value reaches
// them through shellWord or shell(): nothing a person, an inventory or
// the network gives can become shell code. They need a POSIX sh and, for
// release-dir, tar and GNU coreutils (mv -T), like the hand-written steps
// they replace.

// releaseDir is the Capistrano-style layout: ROOT/releases/VERSION,
// ROOT/current -> releases/VERSION.
var releaseDir = &recipe{
	name: "release-dir",
	params: []paramSpec{
		{name: "artifact", required: true, literal: true},
		{name: "root", required: true},
		{name: "keep", def: "5", literal: true},
		{name: "expect"},
	},
	expand: expandReleaseDir,
}

func expandReleaseDir(c *recipeCall) []Step {
	art := c.raw("artifact")
	if c.x.p.Release.Artifacts.Get(art) == nil {
		c.errorf(c.pos("artifact"), "release-dir: parameter artifact: no artifact %q: the plan's artifacts are %s", art, quoteList(artifactNames(c.x.p)))
	}
	keep := c.intParam("keep", 1)
	root := strings.TrimSuffix(c.raw("root"), "/")
	if c.raw("root") == "/" {
		root = "/"
	}
	if strings.TrimSpace(root) == "" {
		c.errorf(c.pos("root"), "release-dir: parameter root is empty: give the directory that holds releases/ and current")
	}
	// head starts a script with the values it uses: root, v (this
	// release), prev (the previous one).
	head := func(names string) string {
		lines := []string{"set -eu", "root=" + shellWord(root),
			`if [ -z "$root" ]; then echo "release-dir: root is empty" >&2; exit 2; fi`}
		uses := strings.Fields(names)
		if slices.Contains(uses, "v") {
			lines = append(lines, "v="+versionWord)
		}
		if slices.Contains(uses, "prev") {
			lines = append(lines, "prev="+previousWord)
		}
		return script(lines...)
	}
	expect := ""
	if c.raw("expect") != "" {
		expect = script(
			"expect="+c.word("expect"),
			`if [ ! -e "$t/$expect" ]; then`,
			`  echo "release-dir: the artifact has no $expect" >&2; rm -rf -- "$t"; exit 1`,
			"fi")
	}
	upload := c.step("upload", "", head("v prev")+
		`if [ "$v" != "$prev" ]; then rm -f -- "$root/releases/$v.archive"; fi`+"\n")
	upload.Upload = &Upload{Artifact: art, To: root + "/releases/${{ release.version }}.archive"}
	upload.record("upload", c.st.KeyPos("uses"), c.st.ValPos("uses"))
	upload.Upload.record("artifact", c.pos("artifact"), c.pos("artifact"))
	upload.Upload.record("to", c.pos("root"), c.pos("root"))

	verify := c.step("verify", head("v")+script(
		`f="$root/releases/$v.archive"`,
		`want=${GOLIVE_ARTIFACT_SHA256:?golive gives the artifact sha256}`,
		`if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum <"$f")`,
		`elif command -v shasum >/dev/null 2>&1; then got=$(shasum -a 256 <"$f")`,
		`else echo "release-dir: neither sha256sum nor shasum is installed" >&2; exit 1; fi`,
		`got=${got%%[!0-9a-f]*}`,
		`if [ "$got" != "$want" ]; then`,
		`  echo "release-dir: $f has sha256 $got, the release's artifact has $want" >&2; exit 1`,
		`fi`,
		`echo "releases/$v.archive: sha256 $got verified"`),
		"true # nothing to undo: verifying changed nothing\n")
	verify.SHA256Of = art

	return append([]Step{upload, verify}, releaseDirSwitch(c, head, expect, keep)...)
}

// releaseDirSwitch writes release-dir's unpack, switch and cleanup steps.
func releaseDirSwitch(c *recipeCall, head func(string) string, expect string, keep int) []Step {
	unpack := c.step("unpack", head("v")+script(
		`d="$root/releases/$v"; t="$root/releases/.$v.unpacking"`,
		`if [ -d "$d" ] && [ "$(readlink -- "$root/current" 2>/dev/null || true)" = "releases/$v" ]; then`,
		`  echo "releases/$v is live: kept as it is"; exit 0`,
		`fi`,
		`rm -rf -- "$t"; mkdir -p -- "$t"`,
		`tar -xf "$d.archive" -C "$t"`)+expect+script(
		`rm -rf -- "$d"; mv -- "$t" "$d"`,
		`echo "unpacked releases/$v"`),
		head("v prev")+script(
			`rm -rf -- "$root/releases/.$v.unpacking"`,
			`if [ "$v" != "$prev" ]; then rm -rf -- "$root/releases/$v"; fi`))

	switchBack := script(
		`if [ -n "$prev" ] && [ -d "$root/releases/$prev" ]; then`,
		`  ln -sfn -- "releases/$prev" "$root/current.tmp"`,
		`  mv -T -- "$root/current.tmp" "$root/current"`,
		`  echo "current -> releases/$prev"`,
		`else`,
		`  rm -f -- "$root/current" "$root/current.tmp"`,
		`  echo "current removed: this host has no previous release"`,
		`fi`)
	switchStep := c.step("switch", head("v")+script(
		`if [ ! -d "$root/releases/$v" ]; then echo "release-dir: releases/$v is missing" >&2; exit 1; fi`,
		`touch -- "$root/releases/$v"`,
		`ln -sfn -- "releases/$v" "$root/current.tmp"`,
		`mv -T -- "$root/current.tmp" "$root/current"`,
		`echo "current -> releases/$v"`),
		head("prev")+switchBack)

	cleanup := c.step("cleanup", head("v prev")+script(
		fmt.Sprintf("keep=%d", keep),
		`live=$(readlink -- "$root/current" 2>/dev/null || true); live=${live#releases/}`,
		`cd -- "$root/releases"`,
		`n=0`,
		`# shellcheck disable=SC2012 # newest first; only release-version names are used`,
		`ls -1t | while IFS= read -r r; do`,
		`  case $r in .* | *[!A-Za-z0-9._+~:-]* | *.archive) continue ;; esac`,
		`  [ -d "$r" ] || continue`,
		`  n=$((n + 1))`,
		`  if [ "$n" -le "$keep" ] || [ "$r" = "$v" ] || [ "$r" = "$prev" ] || [ "$r" = "$live" ]; then continue; fi`,
		`  rm -rf -- "$r" "$r.archive"`,
		`  echo "removed releases/$r"`,
		`done`),
		"true # nothing to undo: only releases beyond the last keep go, never this one, the previous one or the live one\n")
	return []Step{unpack, switchStep, cleanup}
}

// systemdRecipe restarts (or reloads) a unit and waits until it is active.
var systemdRecipe = &recipe{
	name: "systemd",
	params: []paramSpec{
		{name: "unit", required: true},
		{name: "action", def: "restart", literal: true},
		{name: "wait", def: "60s", literal: true},
		{name: "sudo", def: "false", literal: true},
		{name: "release_dir"},
	},
	expand: expandSystemd,
}

func expandSystemd(c *recipeCall) []Step {
	c.checkUnit("unit")
	action := c.enumParam("action", "restart", "reload", "reload-or-restart")
	wait := c.durationParam("wait")
	sudo := ""
	if c.boolParam("sudo") {
		sudo = "sudo -n "
	}
	head := script("set -eu",
		"unit="+c.word("unit"),
		`case $unit in '' | -*) echo "systemd: refusing unit name '$unit'" >&2; exit 2 ;; esac`,
		"wait_active() {",
		"  i=0",
		"  while :; do",
		`    state=$(systemctl is-active -- "$unit" 2>/dev/null || true)`,
		`    case $state in active) echo "$unit is active"; return 0 ;; failed) break ;; esac`,
		fmt.Sprintf(`    if [ "$i" -ge %d ]; then break; fi`, wait),
		"    sleep 1; i=$((i + 1))",
		"  done",
		fmt.Sprintf(`  echo "systemd: $unit is not active after %s (state: ${state:-unknown})" >&2`, action),
		`  systemctl status --no-pager --lines=20 -- "$unit" >&2 || true`,
		"  return 1",
		"}")
	run := head + script(
		sudo+"systemctl "+action+` -- "$unit"`,
		"wait_active")
	// Backouts run newest first, so this one runs before release-dir's
	// switch backout: with a release_dir it points current back itself
	// (the same idempotent switch), so the restart starts the previous.
	back := head + script("prev="+previousWord)
	root := c.raw("release_dir")
	if root == "" && c.lastRoot != nil {
		root = c.lastRoot.Value
	}
	if root != "" {
		back += script("root="+shellWord(strings.TrimSuffix(root, "/")),
			`if [ -n "$prev" ] && [ -d "$root/releases/$prev" ]; then`,
			`  ln -sfn -- "releases/$prev" "$root/current.tmp"`,
			`  mv -T -- "$root/current.tmp" "$root/current"`,
			`  echo "current -> releases/$prev"`,
			`fi`)
	}
	if action != "reload" {
		back += script(`if [ -z "$prev" ]; then`,
			"  "+sudo+`systemctl stop -- "$unit"`,
			`  echo "stopped $unit: there is no previous release to go back to"; exit 0`,
			`fi`)
	}
	back += script(sudo+"systemctl "+action+` -- "$unit"`, "wait_active")
	part := action
	if part == "reload-or-restart" {
		part = "restart"
	}
	st := c.step(part, run, back)
	if !c.st.Has("timeout") {
		st.Timeout = Duration(time.Duration(wait+30) * time.Second)
	}
	return []Step{st}
}
