# golive's container image, built from the release files, so the image holds
# exactly the binary that SHA256SUMS and the SBOM describe (docs/install.md):
#
#   scripts/release 1.2.3
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       --build-arg VERSION=1.2.3 -t golive:1.2.3 -f Dockerfile dist/1.2.3
#
# The base holds CA certificates, time zones and a "nonroot" user (uid 65532,
# HOME=/home/nonroot) and nothing else: no shell, no package manager. golive
# is one static binary and speaks SSH itself (golang.org/x/crypto/ssh), so no
# ssh client is needed to reach SSH targets. Local targets run their steps
# with /bin/sh: to use them, pick a base with a shell and CA certificates
# (--build-arg BASE=...).
ARG BASE=gcr.io/distroless/static-debian12:nonroot
FROM ${BASE}
ARG VERSION
# Set by BuildKit from --platform (amd64 or arm64).
ARG TARGETARCH
COPY golive_${VERSION}_linux_${TARGETARCH} /usr/local/bin/golive
WORKDIR /plan
ENTRYPOINT ["/usr/local/bin/golive"]
CMD ["--help"]
