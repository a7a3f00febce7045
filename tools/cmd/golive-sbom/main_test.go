package main

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8 X:nodwarf5",
		Path:      "github.com/golive-dev/golive/cmd/golive",
		Main:      debug.Module{Path: "github.com/golive-dev/golive", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/Example/Mixed", Version: "v2.0.0+incompatible", Sum: "h1:abc="},
			{Path: "example.com/old", Version: "v1.0.0", Sum: "h1:old=", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: "h1:fork="}},
		},
		Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "0"}, {Key: "GOOS", Value: "linux"}},
	}
	var sum [32]byte
	sum[0] = 0xff
	ts := time.Date(2026, 11, 30, 4, 0, 0, 0, time.FixedZone("X", 3600))
	bom := build(info, sum, options{name: "golive", version: "v1.2.3", license: "Apache-2.0", timestamp: ts})

	if bom.Metadata.Timestamp != "2026-11-30T03:00:00Z" {
		t.Errorf("timestamp %q, want UTC", bom.Metadata.Timestamp)
	}
	if want := "urn:uuid:ff000000-0000-4000-8000-000000000000"; bom.SerialNumber != want {
		t.Errorf("serial %q, want %q", bom.SerialNumber, want)
	}
	mc := bom.Metadata.Component
	if mc.Version != "v1.2.3" || mc.PURL != "pkg:golang/github.com/golive-dev/golive@v1.2.3?type=module" {
		t.Errorf("main component %+v", mc)
	}
	if mc.Hashes[0].Content[:4] != "ff00" {
		t.Errorf("hash %q", mc.Hashes[0].Content)
	}
	props := map[string]string{}
	for _, p := range mc.Properties {
		props[p.Name] = p.Value
	}
	if props["golang:build:CGO_ENABLED"] != "0" || props["golang:build:GOOS"] != "linux" {
		t.Errorf("build settings not carried: %v", props)
	}

	if len(bom.Components) != 3 {
		t.Fatalf("components %+v", bom.Components)
	}
	std, mixed, fork := bom.Components[0], bom.Components[1], bom.Components[2]
	if std.Name != "std" || std.Version != "go1.26.8" || std.PURL != "pkg:golang/std@go1.26.8?type=module" {
		t.Errorf("std %+v", std)
	}
	if mixed.PURL != "pkg:golang/github.com/Example/Mixed@v2.0.0%2Bincompatible?type=module" {
		t.Errorf("purl of a +incompatible version: %q", mixed.PURL)
	}
	if fork.Name != "example.com/fork" || fork.Version != "v1.0.1" || fork.PURL != "pkg:golang/example.com/fork@v1.0.1?type=module" {
		t.Errorf("a replaced module is named by its replacement: %+v", fork)
	}
	var replaces string
	for _, p := range fork.Properties {
		if p.Name == "golang:replaces" {
			replaces = p.Value
		}
	}
	if replaces != "example.com/old@v1.0.0" {
		t.Errorf("golang:replaces %q", replaces)
	}
	if d := bom.Dependencies[0]; d.Ref != mc.BOMRef || len(d.DependsOn) != 3 {
		t.Errorf("main's dependencies %+v", d)
	}

	// Without -version, the module version stamped by `go install m@v` is used.
	info.Main.Version = "v0.9.0"
	if b := build(info, sum, options{name: "golive", timestamp: ts}); b.Metadata.Component.Version != "v0.9.0" || b.Metadata.Component.Licenses != nil {
		t.Errorf("default version/license: %+v", b.Metadata.Component)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"a.b-c_d~e": "a.b-c_d~e", "a b": "a%20b", "x@y": "x%40y", "é": "%C3%A9"} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}
