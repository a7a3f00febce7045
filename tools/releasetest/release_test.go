package releasetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	version = "9.8.7-rc.1" // given to scripts/release
	tag     = "v" + version
	debVer  = "9.8.7~rc.1"
)

var root = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "..")
}()

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no answer after %s\n%s", name, strings.Join(args, " "), timeout, out)
	}
	return string(out), err
}

// mustRun is run that fails the test when the command fails.
func mustRun(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) string {
	t.Helper()
	out, err := run(t, timeout, env, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func TestReleaseRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		name, version, platforms, want string
	}{
		{"two-part version", "1.2", "", `version "1.2" is not a semantic version`},
		{"shell in version", "1.2.3;id", "", `version "1.2.3;id" is not a semantic version`},
		{"leading zero", "01.2.3", "", "not a semantic version"},
		{"unknown platform", "1.2.3", "windows/amd64", `platform "windows/amd64" is not one of`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dist := t.TempDir()
			env := []string{"GOLIVE_RELEASE_DIR=" + dist, "GOLIVE_RELEASE_DIRTY=1"}
			if c.platforms != "" {
				env = append(env, "GOLIVE_RELEASE_PLATFORMS="+c.platforms)
			}
			out, err := run(t, time.Minute, env, root, "scripts/release", c.version)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("scripts/release %s: %v, want exit 2\n%s", c.version, err, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("output %q lacks %q", out, c.want)
			}
			if entries, _ := os.ReadDir(dist); len(entries) != 0 {
				t.Errorf("a refused release wrote %v", entries)
			}
		})
	}
}

// A release is built from a commit: uncommitted changes or untracked files
// (which the build would compile in) stop it unless GOLIVE_RELEASE_DIRTY=1.
func TestReleaseRefusesDirtyTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	repo := t.TempDir()
	script, err := os.ReadFile(filepath.Join(root, "scripts", "release"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "scripts", "release"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git := []string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}
	mustRun(t, time.Minute, nil, repo, "git", "init", "-q")
	mustRun(t, time.Minute, nil, repo, "git", append(git, "add", "-A")...)
	mustRun(t, time.Minute, nil, repo, "git", append(git, "commit", "-qm", "release script")...)
	if err := os.WriteFile(filepath.Join(repo, "stray.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, time.Minute, []string{"GOLIVE_RELEASE_DIRTY="}, repo, "scripts/release", "1.2.3")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "uncommitted changes or untracked files") {
		t.Fatalf("scripts/release in a tree with an untracked file: %v, want exit 2 naming it\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(repo, "dist")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused release made dist/: %v", err)
	}
}

func TestRelease(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("golive is released for linux and darwin on amd64 and arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, tool := range []string{"git", "tar", "gzip", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/release needs %s", tool)
		}
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	dist := t.TempDir()
	start := time.Now()
	mustRun(t, 10*time.Minute, []string{
		"GOLIVE_RELEASE_DIR=" + dist,
		"GOLIVE_RELEASE_DIRTY=1",
		"GOLIVE_RELEASE_PLATFORMS=" + runtime.GOOS + "/" + runtime.GOARCH,
	}, root, "scripts/release", tag)
	t.Logf("scripts/release %s for %s took %s", tag, platform, time.Since(start).Round(time.Millisecond))

	out := filepath.Join(dist, version)
	name := "golive_" + version + "_" + platform
	bin := filepath.Join(out, name)
	want := []string{"SHA256SUMS", name, name + ".cdx.json", name + ".tar.gz"}
	deb := ""
	if runtime.GOOS == "linux" {
		deb = "golive_" + debVer + "_" + runtime.GOARCH + ".deb"
		want = append(want, deb)
	}
	sort.Strings(want)
	var got []string
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("release files:\n got %v\nwant %v", got, want)
	}
	commit := strings.TrimSpace(mustRun(t, time.Minute, nil, root, "git", "rev-parse", "HEAD"))

	t.Run("checksums", func(t *testing.T) { checkSums(t, out, want) })
	t.Run("binary", func(t *testing.T) { checkBinary(t, bin, commit) })
	t.Run("sbom", func(t *testing.T) { checkSBOM(t, bin, bin+".cdx.json") })
	t.Run("archive", func(t *testing.T) { checkArchive(t, bin, bin+".tar.gz", name) })
	t.Run("deb", func(t *testing.T) {
		if deb == "" {
			t.Skip("the .deb is for linux")
		}
		checkDeb(t, filepath.Join(out, deb), bin, commit)
	})
	t.Run("dockerfile", func(t *testing.T) { checkDockerfile(t, out) })
}

// checkSums: SHA256SUMS names every other release file once, with its hash.
func checkSums(t *testing.T, dir string, files []string) {
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not \"SUM  FILE\"", line)
		}
		sums[file] = sum
	}
	for _, f := range files {
		if f == "SHA256SUMS" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if sums[f] != hex.EncodeToString(h[:]) {
			t.Errorf("SHA256SUMS says %s is %q, it is %x", f, sums[f], h)
		}
		delete(sums, f)
	}
	if len(sums) != 0 {
		t.Errorf("SHA256SUMS names files that are not in the release: %v", sums)
	}
	// What the install docs tell people to run.
	mustRun(t, time.Minute, nil, dir, "sha256sum", "--check", "--strict", "SHA256SUMS")
}

var versionRE = regexp.MustCompile(`^golive version (\S+) \(commit ([0-9a-f]{12}), built (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)\n$`)

// checkVersion runs a golive binary's --version and checks that it names the
// release's version and commit.
func checkVersion(t *testing.T, bin, commit string) {
	t.Helper()
	out := mustRun(t, time.Minute, nil, "", bin, "--version")
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s --version: %q, want %q", bin, out, "golive version "+tag+" (commit C, built D)")
	}
	if m[1] != tag || m[2] != commit[:12] {
		t.Errorf("%s --version: %q, want version %s and commit %s", bin, out, tag, commit[:12])
	}
}

func checkBinary(t *testing.T, bin, commit string) {
	checkVersion(t, bin, commit)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	if info.Main.Path != "github.com/golive-dev/golive" {
		t.Errorf("main module %q", info.Main.Path)
	}
	for _, d := range info.Deps {
		if strings.HasPrefix(d.Path, "github.com/goreleaser/") {
			t.Errorf("golive links the packaging tool's %s", d.Path)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader (PT_INTERP): not static", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("%s needs shared libraries %v", bin, libs)
	}
}

type component struct {
	Type, Name, Version, PURL string
	BOMRef                    string `json:"bom-ref"`
	Hashes                    []struct{ Alg, Content string }
	Licenses                  []struct{ License struct{ ID string } }
}

func checkSBOM(t *testing.T, bin, sbomFile string) {
	data, err := os.ReadFile(sbomFile)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat, SpecVersion, SerialNumber string
		Metadata                             struct {
			Timestamp string
			Component component
		}
		Components   []component
		Dependencies []struct {
			Ref       string
			DependsOn []string
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("bomFormat %q specVersion %q serialNumber %q", bom.BOMFormat, bom.SpecVersion, bom.SerialNumber)
	}
	if _, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	b, _ := os.ReadFile(bin)
	sum := sha256.Sum256(b)
	mc := bom.Metadata.Component
	if mc.Name != "golive" || mc.Version != tag || mc.PURL != "pkg:golang/github.com/golive-dev/golive@"+tag+"?type=module" {
		t.Errorf("main component %+v", mc)
	}
	if len(mc.Hashes) != 1 || mc.Hashes[0].Alg != "SHA-256" || mc.Hashes[0].Content != hex.EncodeToString(sum[:]) {
		t.Errorf("main component hashes %+v, want SHA-256 %x", mc.Hashes, sum)
	}
	if len(mc.Licenses) != 1 || mc.Licenses[0].License.ID != "Apache-2.0" {
		t.Errorf("main component licenses %+v", mc.Licenses)
	}

	// Every module `go version -m` shows, and the standard library, with
	// their versions; nothing else.
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"std": strings.Fields(info.GoVersion)[0]}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		want[d.Path] = d.Version
	}
	if want["modernc.org/sqlite"] == "" {
		t.Fatalf("the binary does not link modernc.org/sqlite? deps %v", want)
	}
	refs := map[string]bool{}
	for _, c := range bom.Components {
		if v, ok := want[c.Name]; !ok || v != c.Version {
			t.Errorf("SBOM component %s %s; the binary has %q", c.Name, c.Version, v)
		}
		delete(want, c.Name)
		if c.BOMRef == "" || refs[c.BOMRef] {
			t.Errorf("component %s: bom-ref %q empty or repeated", c.Name, c.BOMRef)
		}
		refs[c.BOMRef] = true
	}
	if len(want) != 0 {
		t.Errorf("SBOM lacks modules the binary links: %v", want)
	}
	if len(bom.Dependencies) == 0 || bom.Dependencies[0].Ref != mc.BOMRef || len(bom.Dependencies[0].DependsOn) != len(bom.Components) {
		t.Errorf("dependencies of the main component: %+v", bom.Dependencies[:1])
	}
}

// checkArchive: the tar.gz holds the same binary and the documents, under
// one directory named like the archive.
func checkArchive(t *testing.T, bin, archive, name string) {
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Mode&0o022 != 0 {
			t.Errorf("%s: uid %d gid %d mode %o", h.Name, h.Uid, h.Gid, h.Mode)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = b
		}
	}
	wantBin, _ := os.ReadFile(bin)
	if !bytes.Equal(files[name+"/golive"], wantBin) {
		t.Errorf("%s/golive in the archive is not the released binary", name)
	}
	for _, f := range []string{"LICENSE", "README.md", "CHANGELOG.md", "completions/golive.bash", "completions/golive.zsh", "completions/golive.fish"} {
		if len(files[name+"/"+f]) == 0 {
			t.Errorf("the archive lacks %s/%s (has %d files)", name, f, len(files))
		}
	}
	lic, _ := os.ReadFile(filepath.Join(root, "LICENSE"))
	if !bytes.Equal(files[name+"/LICENSE"], lic) {
		t.Errorf("the archive's LICENSE is not the repository's")
	}
}

// checkDeb reads the package's control data and contents, installs it with
// dpkg into a throwaway root, runs the installed golive, and removes it.
func checkDeb(t *testing.T, deb, bin, commit string) {
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (Debian's dpkg package): the .deb is not checked", tool)
		}
	}
	info := mustRun(t, time.Minute, nil, "", "dpkg-deb", "--info", deb)
	for _, field := range []string{"Package: golive", "Version: " + debVer, "Architecture: " + runtime.GOARCH, "Section: admin", "Homepage: https://github.com/golive-dev/golive"} {
		if !regexp.MustCompile(`(?m)^ ` + regexp.QuoteMeta(field) + `$`).MatchString(info) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", field, info)
		}
	}
	if regexp.MustCompile(`(?m)^ (Pre-)?Depends:`).MatchString(info) {
		t.Errorf("a static binary depends on nothing:\n%s", info)
	}
	contents := mustRun(t, time.Minute, nil, "", "dpkg-deb", "--contents", deb)
	for _, line := range []string{
		`-rwxr-xr-x root/root +\d+ \S+ \S+ \./usr/bin/golive`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./usr/share/doc/golive/copyright`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./usr/share/bash-completion/completions/golive`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./usr/share/zsh/vendor-completions/_golive`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./usr/share/fish/vendor_completions\.d/golive\.fish`,
	} {
		if !regexp.MustCompile(`(?m)^` + line + `$`).MatchString(contents) {
			t.Errorf("dpkg-deb --contents lacks %s:\n%s", line, contents)
		}
	}

	dir := t.TempDir()
	if os.Geteuid() != 0 {
		// dpkg --root needs root to give files their owners: unpack instead.
		mustRun(t, time.Minute, nil, "", "dpkg-deb", "-x", deb, dir)
	} else {
		admin := filepath.Join(dir, "var/lib/dpkg")
		for _, d := range []string{"info", "updates", "triggers"} {
			if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"status", "available"} {
			if err := os.WriteFile(filepath.Join(admin, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dpkg := func(args ...string) string {
			return mustRun(t, time.Minute, nil, "", "dpkg", append([]string{"--root=" + dir, "--log=" + filepath.Join(dir, "dpkg.log"), "--force-script-chrootless"}, args...)...)
		}
		dpkg("--install", deb)
		status := dpkg("--status", "golive")
		if !strings.Contains(status, "Status: install ok installed") || !strings.Contains(status, "Version: "+debVer) {
			t.Errorf("dpkg --status golive after --install:\n%s", status)
		}
		defer func() {
			if t.Failed() {
				return
			}
			dpkg("--remove", "golive")
			if _, err := os.Stat(filepath.Join(dir, "usr/bin/golive")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("usr/bin/golive after dpkg --remove: %v", err)
			}
		}()
	}
	installed := filepath.Join(dir, "usr/bin/golive")
	st, err := os.Stat(installed)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin/golive mode %v", st.Mode())
	}
	a, _ := os.ReadFile(installed)
	b, _ := os.ReadFile(bin)
	if !bytes.Equal(a, b) {
		t.Errorf("the packaged golive is not the released binary")
	}
	checkVersion(t, installed, commit)
}

// checkDockerfile: the Dockerfile's COPY names a file of the release (there
// is no Docker daemon to build the image here).
func checkDockerfile(t *testing.T, out string) {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COPY (\S+) /usr/local/bin/golive$`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("Dockerfile has no COPY of the binary to /usr/local/bin/golive:\n%s", data)
	}
	src := strings.NewReplacer("${VERSION}", version, "${TARGETARCH}", runtime.GOARCH).Replace(m[1])
	if _, err := os.Stat(filepath.Join(out, src)); err != nil && runtime.GOOS == "linux" {
		t.Errorf("Dockerfile copies %s (%s for %s): %v", m[1], src, runtime.GOARCH, err)
	}
	for _, want := range []string{`ENTRYPOINT ["/usr/local/bin/golive"]`, "ARG VERSION", "ARG TARGETARCH"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}
