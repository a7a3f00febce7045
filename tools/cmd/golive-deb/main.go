// Command golive-deb builds golive's Debian package with nfpm used as a Go
// library (no nfpm binary, no dpkg-deb needed):
//
//	golive-deb -binary dist/golive -version 1.2.3 -arch amd64 -root . -out DIR
//
// The package installs /usr/bin/golive, its documentation and licence under
// /usr/share/doc/golive and, when -completions names a directory holding
// golive.bash, golive.zsh and golive.fish, the shell completions. It prints
// the path of the package it wrote. Every file gets -mtime, so the same
// inputs give the same package.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "the linux golive binary to package (required)")
	flag.StringVar(&o.version, "version", "", "the version, semver with or without a leading v (required)")
	flag.StringVar(&o.arch, "arch", "", "Go architecture of the binary: amd64 or arm64 (required)")
	flag.StringVar(&o.root, "root", ".", "the repository root (LICENSE, README.md, CHANGELOG.md)")
	flag.StringVar(&o.completions, "completions", "", "a directory with golive.bash, golive.zsh and golive.fish to install")
	flag.StringVar(&o.out, "out", ".", "directory to write the package to")
	mtime := flag.Int64("mtime", 0, "modification time of every file, in Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	flag.Parse()
	if flag.NArg() != 0 || o.binary == "" || o.version == "" || o.arch == "" {
		fmt.Fprintln(os.Stderr, "usage: golive-deb -binary FILE -version V -arch amd64|arm64 [-root DIR] [-completions DIR] [-out DIR] [-mtime SECONDS]")
		os.Exit(2)
	}
	o.mtime = time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" && *mtime == 0 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "golive-deb: SOURCE_DATE_EPOCH=%q is not a number of seconds\n", s)
			os.Exit(2)
		}
		*mtime = n
	}
	if *mtime != 0 {
		o.mtime = time.Unix(*mtime, 0)
	}
	path, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "golive-deb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

type options struct {
	binary, version, arch, root, completions, out string
	mtime                                         time.Time
}

var semverRE = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func build(o options) (string, error) {
	if !semverRE.MatchString(o.version) {
		return "", fmt.Errorf("version %q is not a semantic version like 1.2.3 or 1.2.3-rc.1", o.version)
	}
	if o.arch != "amd64" && o.arch != "arm64" {
		return "", fmt.Errorf("arch %q: golive is packaged for amd64 and arm64", o.arch)
	}
	doc := "/usr/share/doc/golive/"
	contents := files.Contents{
		{Source: o.binary, Destination: "/usr/bin/golive", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
		{Source: filepath.Join(o.root, "LICENSE"), Destination: doc + "copyright", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(o.root, "README.md"), Destination: doc + "README.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(o.root, "CHANGELOG.md"), Destination: doc + "CHANGELOG.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
	}
	if o.completions != "" {
		for src, dst := range map[string]string{
			"golive.bash": "/usr/share/bash-completion/completions/golive",
			"golive.zsh":  "/usr/share/zsh/vendor-completions/_golive",
			"golive.fish": "/usr/share/fish/vendor_completions.d/golive.fish",
		} {
			contents = append(contents, &files.Content{Source: filepath.Join(o.completions, src), Destination: dst, FileInfo: &files.ContentFileInfo{Mode: 0o644}})
		}
	}
	for _, c := range contents {
		if _, err := os.Stat(c.Source); err != nil {
			return "", fmt.Errorf("package content for %s: %w", c.Destination, err)
		}
		c.FileInfo.MTime = o.mtime
		c.FileInfo.Owner, c.FileInfo.Group = "root", "root"
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name:       "golive",
		Arch:       o.arch,
		Platform:   "linux",
		Version:    o.version,
		Section:    "admin",
		Priority:   "optional",
		Maintainer: "golive developers",
		Vendor:     "golive",
		Homepage:   "https://github.com/golive-dev/golive",
		License:    "Apache-2.0",
		Description: "deployment plans executed: review, release, watch, back out, verify\n" +
			"golive turns a deployment plan (golive.yaml) into a rollout over SSH or to\n" +
			"local directories that is reviewed (go/no-go), released batch by batch with\n" +
			"health checks and monitors, backed out newest-first when something fails,\n" +
			"verified and recorded. A single static binary with no dependencies.",
		MTime:        o.mtime,
		Overridables: nfpm.Overridables{Contents: contents, Umask: 0o022},
	})
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("package %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}
