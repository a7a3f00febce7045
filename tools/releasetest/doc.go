// Package releasetest tests scripts/release end to end: it builds a release
// for this machine's platform and checks the binary, the checksums, the SBOM,
// the archive, the Debian package (installed with dpkg into a throwaway root)
// and that the Dockerfile finds its binary among the release files.
package releasetest
