package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golive-dev/golive/internal/rollout"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestVerifyPath(t *testing.T) {
	dir := t.TempDir()
	data := []byte("release 1.0")
	os.WriteFile(filepath.Join(dir, "app-1.0.tgz"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "SUMS"), []byte(sum(data)+"  app-1.0.tgz\n"+strings.Repeat("0", 64)+"  other.tgz\n"), 0o644)
	resolve := func(p string) string { return filepath.Join(dir, p) }
	ro := &rollout.Rollout{Artifacts: []*rollout.Artifact{
		{Name: "bysum", Path: "app-1.0.tgz", SHA256: strings.ToUpper(sum(data))},
		{Name: "byfile", Path: "app-1.0.tgz", SHA256File: "SUMS"},
		{Name: "unchecked", Path: "app-1.0.tgz"},
	}}
	got, err := Verify(ro, resolve)
	if err != nil {
		t.Fatal(err)
	}
	if !got["bysum"].Checked || !got["byfile"].Checked || got["unchecked"].Checked || got["bysum"].SHA256 != sum(data) {
		t.Errorf("got %+v", got)
	}
	ro.Artifacts = []*rollout.Artifact{{Name: "bad", Path: "app-1.0.tgz", SHA256: strings.Repeat("a", 64)}, {Name: "missing", Path: "nope.tgz"}}
	_, err = Verify(ro, resolve)
	if err == nil || !strings.Contains(err.Error(), "artifact bad: app-1.0.tgz: sha256 is") || !strings.Contains(err.Error(), "artifact missing:") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("every problem must be reported: %v", err)
	}
}

func TestFetchOnceIntoCache(t *testing.T) {
	data := []byte("release from the artifact server")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/shop-1.0.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	t.Setenv("GOLIVE_CACHE", t.TempDir())
	ro := &rollout.Rollout{Artifacts: []*rollout.Artifact{{Name: "app", URL: srv.URL + "/shop-1.0.tgz", SHA256: sum(data)}}}
	for i := 0; i < 2; i++ {
		got, err := Verify(ro, func(p string) string { return p })
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(got["app"].Path); string(b) != string(data) || !got["app"].Checked {
			t.Fatalf("cached file %s: %q", got["app"].Path, b)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("fetched %d times, want once", hits.Load())
	}
	ro.Artifacts[0].SHA256 = strings.Repeat("b", 64)
	if _, err := Verify(ro, func(p string) string { return p }); err == nil || !strings.Contains(err.Error(), "not the release it claims to be") {
		t.Errorf("wrong sum: %v", err)
	}
	ro.Artifacts[0] = &rollout.Artifact{Name: "gone", URL: srv.URL + "/missing.tgz"}
	if _, err := Verify(ro, func(p string) string { return p }); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing url: %v", err)
	}
	ro.Artifacts[0] = &rollout.Artifact{Name: "ftp", URL: "ftp://127.0.0.1/x"}
	if _, err := Verify(ro, func(p string) string { return p }); err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Errorf("ftp url: %v", err)
	}
}

// A failed download names its URL without the password or query values.
func TestFetchErrorHidesTokens(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	for _, raw := range []string{
		srv.URL + "/app.tgz?token=p%22%26tok3n-S3CR3T&v=1",
		strings.Replace(srv.URL, "http://", "http://bob:pw-S3CR3T@", 1) + "/app.tgz",
		"http://127.0.0.1:1/app.tgz?token=tok3n-S3CR3T",
		"ftp://x/app.tgz?token=tok3n-S3CR3T",
	} {
		_, err := Fetch(raw, "", t.TempDir())
		if err == nil {
			t.Fatalf("%s: want an error", raw)
		}
		if strings.Contains(err.Error(), "S3CR3T") || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("error shows the token: %v", err)
		}
		if !strings.Contains(err.Error(), "***") {
			t.Errorf("error %v does not show where the token was", err)
		}
	}
}
