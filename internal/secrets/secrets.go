// Package secrets reads the values that ${{ secrets.X }} stands for: from
// the controller's environment (GOLIVE_SECRET_X) or from a secrets file of
// NAME=VALUE lines. Values never leave this package except into a
// redact.Redactor and the scope of the commands that need them.
package secrets

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// EnvPrefix starts the environment variables that hold secrets.
const EnvPrefix = "GOLIVE_SECRET_"

// Load returns the secrets from environ (os.Environ form) and, when file
// is not empty, from file; the file wins.
func Load(environ []string, file string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) && len(k) > len(EnvPrefix) {
			out[k[len(EnvPrefix):]] = v
		}
	}
	if file == "" {
		return out, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || k == "" {
			return nil, fmt.Errorf("secrets file %s:%d: want NAME=VALUE", file, line)
		}
		out[k] = unquote(strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("secrets file %s: %w", file, err)
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}
