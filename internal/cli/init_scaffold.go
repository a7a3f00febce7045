package cli

import (
	"strings"
)

// scaffold returns the text of the plan golive init writes: name is the
// plan's name, inventory the inventory file relative to the plan ("" for
// a local demo host), recipe "", release-dir or systemd.
func scaffold(name, inventory, recipe string) string {
	var b strings.Builder
	w := func(lines ...string) {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	w("# A golive plan, written by `golive init`. Every key is explained in",
		"# docs/plan-reference.md. Lines that need your attention say TODO.",
		"#",
		"#   golive validate              # check it (every problem as FILE:LINE:COL)",
		"#   golive plan -r 0.1.0         # show what releasing 0.1.0 would do; changes nothing",
		"#   golive run -r 0.1.0          # do it; a failure backs out every host touched",
		"",
		"golive: 1",
		"name: "+name+"                    # runs, locks and history are keyed by it",
		"description: TODO what this plan deploys",
		"owner: TODO-team                  # who answers for the service",
		`contacts: ["TODO@example.com"]    # who is called when a release goes wrong`,
		`success_criteria: "every host runs the new release and passes its health checks"`,
		"")
	local := inventory == ""
	if recipe != "" {
		root := "/srv/" + name
		if local {
			root = "."
		}
		w("vars:",
			"  # Where releases go on each host: releases/VERSION and a current link.",
			"  app_dir: "+yamlString(root),
			"",
			"release:",
			"  artifacts:",
			"    app:",
			"      # TODO: your build makes this tar archive (gzip is fine) and its line in",
			"      # dist/SHA256SUMS (sha256sum dist/app-1.0.0.tar.gz >>dist/SHA256SUMS).",
			"      path: dist/app-${{ release.version }}.tar.gz",
			"      sha256_file: dist/SHA256SUMS",
			"")
	}
	w("targets:")
	if local {
		w("  # One \"host\" that is a directory on this machine (created on first use).",
			"  # TODO: your machines: hosts: {web-1: {address: 10.0.0.11, roles: [app]}},",
			"  # or an inventory (golive init --inventory FILE).",
			"  defaults: {transport: local}",
			"  hosts:",
			"    local: {dir: hosts/local, roles: [app]}")
	} else {
		w("  defaults:",
			"    transport: ssh",
			"    user: deploy                  # TODO: the account golive logs in as",
			"    known_hosts: ~/.ssh/known_hosts  # host keys are checked; unknown hosts are refused",
			"  # Ansible-style inventory: its groups become roles that on: can name.",
			"  inventory: "+yamlString(inventory))
	}
	w("",
		"controls:",
		"  integrity: required     # every artifact has a verified sha256",
		"  backout: required       # every step that changes a host says how to undo it",
		"",
		"stages:",
		"  - name: app",
		"    on: all                       # TODO: a role (an inventory group) or a list of hosts",
		"    strategy:",
		"      canary: 1                   # one host first, on its own",
		"      max_failed: 0               # any failed host fails the run and backs out",
		"    steps:")
	scaffoldSteps(w, name, recipe)
	w("",
		"backout:",
		"  automatic: true                 # a failed run backs out at once")
	return b.String()
}

// scaffoldSteps writes the scaffold's steps and health checks.
func scaffoldSteps(w func(lines ...string), name, recipe string) {
	switch recipe {
	case "":
		w("      - name: install",
			"        # TODO: what installs a release on a host. The script runs with sh -c;",
			"        # ${{ shell(x) }} puts a value in as one quoted word.",
			"        run: printf '%s\\n' ${{ shell(release.version) }} >VERSION.new && mv VERSION.new VERSION",
			"        # Undo it: put back the release that was live before this run.",
			"        backout: |",
			"          prev=${{ shell(release.previous) }}",
			`          if [ -n "$prev" ]; then printf '%s\n' "$prev" >VERSION; else rm -f VERSION; fi`,
			"    health:",
			"      # TODO: a check that the release really works (http: {url: ...} for a web service).",
			"      - name: runs the new release",
			`        run: test "$(cat VERSION)" = ${{ shell(release.version) }}`,
			"        timeout: 10s")
	default:
		w("      # Upload, verify the sha256 on the host, unpack into releases/VERSION,",
			"      # switch current atomically, keep the last 5; each with its backout.",
			"      # golive plan -r 0.1.0 shows every step it writes.",
			"      - uses: release-dir",
			"        with: {artifact: app, root: \"${{ vars.app_dir }}\", keep: 5}")
		if recipe == "systemd" {
			w("      # Restart the unit and wait until it is active; its backout points",
				"      # current back and restarts the previous release.",
				"      - uses: systemd",
				"        with: {unit: "+name+".service, sudo: true}    # TODO: your unit; sudo -n systemctl")
		}
		w("    health:",
			"      # TODO: a check that the release really works (http: {url: ...} for a web service).",
			"      - name: current is the new release",
			`        run: cur=$(readlink ${{ shell(vars.app_dir) }}/current) && test "$cur" = releases/${{ shell(release.version) }}`,
			"        timeout: 10s")
	}
}
