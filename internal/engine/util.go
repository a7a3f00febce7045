package engine

import "os"

func osMode(m uint64) os.FileMode {
	if m == 0 {
		return 0o644
	}
	return os.FileMode(m)
}
