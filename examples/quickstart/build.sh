#!/bin/sh
# build.sh [--broken] [VERSION]
#
# Builds the demo app and packs a release for golive:
#   dist/demo-VERSION.tar.gz   the binary `demo` and a VERSION file
#   dist/SHA256SUMS            sha256sum lines; the line for this file is replaced
#
# --broken builds a release whose /health answers 500, so its health check
# fails and golive backs it out. VERSION defaults to 1.0.0.
set -eu

broken=false
if [ "${1:-}" = "--broken" ]; then
	broken=true
	shift
fi
case "${1:-}" in
-h | --help)
	echo "usage: $0 [--broken] [VERSION]" >&2
	exit 0
	;;
-*)
	echo "usage: $0 [--broken] [VERSION]" >&2
	exit 2
	;;
esac
version=${1:-1.0.0}
# The version becomes part of file names and paths on the hosts.
case "$version" in
*[!A-Za-z0-9._+-]* | .* )
	echo "build.sh: invalid version '$version' (letters, digits, . _ + - only)" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.broken=$broken" \
	-o "$tmp/demo" ./app
printf '%s\n' "$version" >"$tmp/VERSION"

mkdir -p dist
name="demo-$version.tar.gz"
tar -czf "$tmp/$name" -C "$tmp" demo VERSION
mv -f "$tmp/$name" "dist/$name"

# Replace this file's line in SHA256SUMS, keep the others.
if command -v sha256sum >/dev/null 2>&1; then
	sum=$(cd dist && sha256sum "$name")
else
	sum=$(cd dist && shasum -a 256 "$name")
fi
touch dist/SHA256SUMS
{
	awk -v n="$name" '$2 != n && $2 != "*" n' dist/SHA256SUMS
	printf '%s\n' "$sum"
} >"$tmp/SHA256SUMS"
mv -f "$tmp/SHA256SUMS" dist/SHA256SUMS

if [ "$broken" = true ]; then
	echo "built dist/$name (BROKEN: /health answers 500)"
else
	echo "built dist/$name"
fi
