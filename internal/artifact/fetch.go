package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// CacheDir is where fetched artifacts are kept: $GOLIVE_CACHE, else
// $XDG_CACHE_HOME/golive/artifacts, else ~/.cache/golive/artifacts.
func CacheDir() string {
	if d := os.Getenv("GOLIVE_CACHE"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "golive", "artifacts")
}

// FetchTimeout bounds one download.
const FetchTimeout = 30 * time.Minute

// Fetch downloads url into the cache once and returns the cached file. A
// cached copy is reused when it has the expected sha256 (want); with no
// expected sum, a copy from this URL is reused as it is. The download goes
// to a temporary file, renamed into place only when complete.
func Fetch(rawURL, want, cache string) (string, error) {
	return FetchAs(rawURL, DisplayURL(rawURL), want, cache)
}

// FetchAs is Fetch naming the URL as shown in its errors (the URL
// rendered with every secret as ***); the real URL is never in them.
func FetchAs(rawURL, shown, want, cache string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("url %s: only http and https are supported", shown)
	}
	key := sha256.Sum256([]byte(rawURL))
	dst := filepath.Join(cache, hex.EncodeToString(key[:8])+"-"+urlBase(rawURL))
	if _, err := os.Stat(dst); err == nil {
		if want == "" {
			return dst, nil
		}
		if sum, err := Sum(dst); err == nil && sum == want {
			return dst, nil
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", shown, withoutURL(err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", shown, withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch %s: %s", shown, resp.Status)
	}
	tmp, err := os.CreateTemp(cache, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("fetch %s: %w", shown, withoutURL(err))
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	return dst, nil
}

// urlBase is the file name a URL names.
func urlBase(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "artifact"
	}
	b := path.Base(u.Path)
	if b == "." || b == "/" || b == "" {
		return "artifact"
	}
	return b
}

// DisplayURL is how an artifact URL is named in messages when the plan's
// rendering with secrets hidden is not at hand: a password in its user
// information and its whole query (where download tokens go, and where an
// unescaped secret's & or = would make any piece of it look like a key)
// are shown as ***.
func DisplayURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
	}
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	s := strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
	if strings.Contains(rawURL, "?") {
		s += "?***"
	}
	return s
}

// withoutURL drops the URL an *url.Error repeats (quoted, which would
// escape a secret past redaction).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
