package releasetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestGoInstallable checks what `go install github.com/golive-dev/golive/cmd/golive@latest`
// needs from go.mod: the module path the docs give, a go line any toolchain
// of that Go release accepts (go 1.26.0, not a patch release a newcomer may
// lack), no toolchain line, no replace or exclude directives (go install
// refuses a module with them), and no dependency that asks for a newer Go.
func TestGoInstallable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := string(data)
	m := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(gomod)
	if m == nil || m[1] != "github.com/golive-dev/golive" {
		t.Fatalf("go.mod module line %q, the docs say github.com/golive-dev/golive", m)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
	if goLine == nil || !regexp.MustCompile(`^1\.\d+(\.0)?$`).MatchString(goLine[1]) {
		t.Errorf("go.mod's go line %q: want the release's first version (like 1.26.0), so that every 1.26 toolchain builds golive without downloading another", goLine)
	}
	for _, d := range []string{"toolchain", "replace", "exclude"} {
		if regexp.MustCompile(`(?m)^` + d + `\b`).MatchString(gomod) {
			t.Errorf("go.mod has a %s directive: go install ...@latest refuses or downloads because of it", d)
		}
	}
	if strings.Contains(gomod, "github.com/goreleaser") {
		t.Errorf("golive's go.mod requires goreleaser: the packaging tools belong in tools/go.mod")
	}

	out := mustRun(t, 2*time.Minute, nil, root, "go", "list", "-m", "-json", "all")
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var mod struct{ Path, Version, GoVersion string }
		if err := dec.Decode(&mod); err != nil {
			t.Fatal(err)
		}
		if mod.GoVersion != "" && goLine != nil && newer(mod.GoVersion, goLine[1]) {
			t.Errorf("%s %s needs go %s, newer than go.mod's go %s", mod.Path, mod.Version, mod.GoVersion, goLine[1])
		}
	}

	for _, doc := range []string{"README.md", "docs/install.md"} {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "go install "+m[1]+"/cmd/golive@latest") {
			t.Errorf("%s does not say go install %s/cmd/golive@latest", doc, m[1])
		}
	}
}

// newer says whether Go version a (like 1.26.3) is newer than b (1.26.0 or 1.26).
func newer(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for len(pa) < 3 {
		pa = append(pa, "0")
	}
	for len(pb) < 3 {
		pb = append(pb, "0")
	}
	for i := 0; i < 3; i++ {
		if len(pa[i]) != len(pb[i]) {
			return len(pa[i]) > len(pb[i])
		}
		if pa[i] != pb[i] {
			return pa[i] > pb[i]
		}
	}
	return false
}
