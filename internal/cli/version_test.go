package cli

import (
	"runtime/debug"
	"testing"
)

// The version line: -ldflags values win over what Go stamps into the
// binary (module version, VCS revision, time, modified); the commit is
// cut to 12 characters; "dev" when nothing is known. Test binaries carry
// no VCS stamps, so the build information is made up here.
func TestVersionFrom(t *testing.T) {
	const rev = "0123456789abcdef0123"
	stamped := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	for _, c := range []struct {
		name                string
		version, commit, at string
		info                *debug.BuildInfo
		ok                  bool
		want                string
	}{
		{"nothing known", "", "", "", nil, false, "dev"},
		{"a checkout build", "", "", "", stamped("(devel)", "vcs.revision", rev, "vcs.time", "2026-11-30T10:00:00Z", "vcs.modified", "false"), true,
			"dev (commit 0123456789ab, built 2026-11-30T10:00:00Z)"},
		{"modified", "", "", "", stamped("(devel)", "vcs.revision", rev, "vcs.modified", "true"), true, "dev (commit 0123456789ab, modified)"},
		{"go install @version", "", "", "", stamped("v1.4.0"), true, "v1.4.0"},
		{"no module version", "", "", "", stamped(""), true, "dev"},
		{"ldflags win", "1.2.3", "abc", "yesterday", stamped("v1.4.0", "vcs.revision", rev, "vcs.time", "2026-11-30T10:00:00Z"), true,
			"1.2.3 (commit abc, built yesterday)"},
		{"a commit of 12", "", "0123456789ab", "", nil, false, "dev (commit 0123456789ab)"},
		{"a commit of 13", "", "0123456789abc", "", nil, false, "dev (commit 0123456789ab)"},
	} {
		if got := versionFrom(c.version, c.commit, c.at, c.info, c.ok); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
