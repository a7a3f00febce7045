// Package artifact finds a release's files on the controller and checks
// them against their sha256 before any host sees them.
package artifact

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/golive-dev/golive/internal/rollout"
)

// File is a verified local file.
type File struct {
	Path   string // absolute or relative to the working directory
	SHA256 string // hex, as computed
	// Checked says the sum was compared with an expected one (sha256 or
	// sha256_file); false when the plan gave none.
	Checked bool
}

// Resolver turns a path written in the plan into a path on the controller.
type Resolver func(string) string

// Verify checks every artifact of the rollout and every file an upload
// step names with src. The map holds artifacts by name and src files as
// "src:" + the path as written. Every problem is returned, joined.
func Verify(ro *rollout.Rollout, resolve Resolver) (map[string]File, error) {
	out := map[string]File{}
	var errs []error
	for _, a := range ro.Artifacts {
		f, err := verifyArtifact(a, resolve)
		if err != nil {
			errs = append(errs, fmt.Errorf("artifact %s: %w", a.Name, err))
			continue
		}
		out[a.Name] = f
	}
	for _, s := range ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				for _, st := range h.Steps {
					if st.Upload == nil || st.Upload.Src == "" {
						continue
					}
					if _, done := out["src:"+st.Upload.Src]; done {
						continue
					}
					sum, err := Sum(resolve(st.Upload.Src))
					if err != nil {
						errs = append(errs, fmt.Errorf("step %s: upload src: %w", st.Name, err))
						continue
					}
					out["src:"+st.Upload.Src] = File{Path: resolve(st.Upload.Src), SHA256: sum}
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

func verifyArtifact(a *rollout.Artifact, resolve Resolver) (File, error) {
	want := strings.ToLower(strings.TrimSpace(a.SHA256))
	name := filepath.Base(a.Path)
	if a.URL != "" {
		name = urlBase(a.URL)
	}
	if a.SHA256File != "" {
		var err error
		if want, err = fromSumsFile(resolve(a.SHA256File), name); err != nil {
			return File{}, err
		}
	}
	path := resolve(a.Path)
	if a.URL != "" {
		var err error
		if path, err = FetchAs(a.URL, shownURL(a), want, CacheDir()); err != nil {
			return File{}, err
		}
	}
	sum, err := Sum(path)
	if err != nil {
		return File{}, err
	}
	if want != "" && want != sum {
		return File{}, fmt.Errorf("%s: sha256 is %s, expected %s: the file is not the release it claims to be", orURL(a), sum, want)
	}
	return File{Path: path, SHA256: sum, Checked: want != ""}, nil
}

// Sum returns the hex sha256 of a file, streaming it.
func Sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: no such file", path)
		}
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fromSumsFile reads the sum for name from a sha256sum-format file.
func fromSumsFile(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sha256_file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && strings.TrimPrefix(fields[1], "*") == name {
			return strings.ToLower(fields[0]), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("sha256_file %s: %w", path, err)
	}
	return "", fmt.Errorf("sha256_file %s has no line for %s", path, name)
}

func orURL(a *rollout.Artifact) string {
	if a.URL != "" {
		return shownURL(a)
	}
	return a.Path
}

// shownURL names an artifact's URL in messages: as the plan renders it
// with every secret as ***, else with its password and query hidden.
func shownURL(a *rollout.Artifact) string {
	if a.ShownURL != "" {
		return a.ShownURL
	}
	return DisplayURL(a.URL)
}
