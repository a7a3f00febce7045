package secrets

import (
	"fmt"
	"os"
)

// FileWarning returns a warning when the secrets file can be read or
// written by users other than its owner (group or world permission bits),
// or "" when it is private or cannot be inspected.
func FileWarning(file string) string {
	if file == "" {
		return ""
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("secrets file %s can be read by other users (mode %04o): chmod 600 %s", file, fi.Mode().Perm(), file)
}
