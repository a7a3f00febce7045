//go:build !unix

package sqlite

import "io/fs"

// ownedByMe: without Unix owners, modes are only warned about.
func ownedByMe(fs.FileInfo) bool { return false }
