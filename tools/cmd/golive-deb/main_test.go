package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "golive")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "..")
	for _, c := range []struct {
		name string
		o    options
		want string
	}{
		{"bad version", options{binary: bin, version: "1.2", arch: "amd64", root: root}, `version "1.2" is not a semantic version`},
		{"bad arch", options{binary: bin, version: "1.2.3", arch: "386", root: root}, `arch "386"`},
		{"missing binary", options{binary: filepath.Join(dir, "nope"), version: "1.2.3", arch: "amd64", root: root}, "package content for /usr/bin/golive"},
		{"missing docs", options{binary: bin, version: "1.2.3", arch: "amd64", root: dir}, "package content for /usr/share/doc/golive/copyright"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.out, c.o.mtime = filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-")), time.Unix(0, 0)
			_, err := build(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("build: %v, want an error with %q", err, c.want)
			}
			if entries, _ := os.ReadDir(c.o.out); len(entries) != 0 {
				t.Errorf("a refused package left %v", entries)
			}
		})
	}
}

// The same inputs give the same package, byte for byte.
func TestBuildReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "golive")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho golive\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := options{binary: bin, version: "v1.2.3-rc.1", arch: "arm64", root: filepath.Join("..", "..", ".."), mtime: time.Unix(1764468000, 0)}
	var debs [][]byte
	for _, out := range []string{"a", "b"} {
		o.out = filepath.Join(dir, out)
		path, err := build(o)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != "golive_1.2.3~rc.1_arm64.deb" {
			t.Errorf("package file %s", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		debs = append(debs, b)
	}
	if string(debs[0]) != string(debs[1]) {
		t.Error("two builds of the same inputs differ")
	}
}
