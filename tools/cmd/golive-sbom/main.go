// Command golive-sbom writes a CycloneDX 1.5 software bill of materials (JSON)
// for a Go binary, from the build information the Go linker stamps into it
// (what `go version -m BINARY` prints): the main module, every module linked
// in (with its go.sum hash and any replacement), the Go standard library and
// the build settings. The binary's own SHA-256 identifies it.
//
//	golive-sbom -version v1.2.3 -date 2026-11-30T00:00:00Z BINARY > BINARY.cdx.json
//
// The output depends only on the binary and the flags, so a release build is
// reproducible.
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

func main() {
	version := flag.String("version", "", "version of the main module (default: the one stamped into the binary)")
	date := flag.String("date", "", "the SBOM's timestamp, RFC 3339 (default: now; give the build date for a reproducible SBOM)")
	name := flag.String("name", "", "the component's name (default: the binary's file name)")
	license := flag.String("license", "Apache-2.0", "SPDX license id of the main module")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: golive-sbom [flags] BINARY\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	bin := flag.Arg(0)
	ts := time.Now().UTC()
	if *date != "" {
		t, err := time.Parse(time.RFC3339, *date)
		if err != nil {
			fmt.Fprintf(os.Stderr, "golive-sbom: -date %q: not RFC 3339 (like 2026-11-30T04:00:00Z)\n", *date)
			os.Exit(2)
		}
		ts = t.UTC()
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "golive-sbom: %v\n", err)
		os.Exit(1)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "golive-sbom: %s: no Go build information: %v\n", bin, err)
		os.Exit(1)
	}
	n := *name
	if n == "" {
		n = filepath.Base(bin)
	}
	bom := build(info, sha256.Sum256(data), options{name: n, version: *version, license: *license, timestamp: ts})
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		fmt.Fprintf(os.Stderr, "golive-sbom: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	name, version, license string
	timestamp              time.Time
}

// The subset of CycloneDX 1.5 that a Go binary's build information fills.
type (
	BOM struct {
		BOMFormat    string       `json:"bomFormat"`
		SpecVersion  string       `json:"specVersion"`
		SerialNumber string       `json:"serialNumber"`
		Version      int          `json:"version"`
		Metadata     Metadata     `json:"metadata"`
		Components   []Component  `json:"components"`
		Dependencies []Dependency `json:"dependencies"`
	}
	Metadata struct {
		Timestamp string    `json:"timestamp"`
		Tools     Tools     `json:"tools"`
		Component Component `json:"component"`
	}
	Tools struct {
		Components []Component `json:"components"`
	}
	Component struct {
		Type       string     `json:"type"`
		BOMRef     string     `json:"bom-ref,omitempty"`
		Name       string     `json:"name"`
		Version    string     `json:"version,omitempty"`
		Scope      string     `json:"scope,omitempty"`
		Hashes     []Hash     `json:"hashes,omitempty"`
		Licenses   []License  `json:"licenses,omitempty"`
		PURL       string     `json:"purl,omitempty"`
		Properties []Property `json:"properties,omitempty"`
	}
	Hash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	License struct {
		License struct {
			ID string `json:"id"`
		} `json:"license"`
	}
	Property struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	Dependency struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	}
)

func build(info *debug.BuildInfo, sum [32]byte, o options) BOM {
	mainVersion := o.version
	if mainVersion == "" {
		mainVersion = info.Main.Version
	}
	if mainVersion == "" || mainVersion == "(devel)" {
		mainVersion = "devel"
	}
	main := Component{
		Type:    "application",
		Name:    o.name,
		Version: mainVersion,
		PURL:    purl(info.Main.Path, mainVersion),
		Hashes:  []Hash{{Alg: "SHA-256", Content: hex.EncodeToString(sum[:])}},
	}
	main.BOMRef = main.PURL
	if o.license != "" {
		var l License
		l.License.ID = o.license
		main.Licenses = []License{l}
	}
	main.Properties = append(main.Properties, Property{"golang:module", info.Main.Path}, Property{"golang:path", info.Path})
	for _, s := range info.Settings {
		main.Properties = append(main.Properties, Property{"golang:build:" + s.Key, s.Value})
	}

	goVersion := info.GoVersion
	if i := strings.IndexAny(goVersion, " "); i >= 0 {
		goVersion = goVersion[:i] // "go1.26.8 X:nodwarf5" -> "go1.26.8"
	}
	std := Component{Type: "library", Name: "std", Version: goVersion, Scope: "required", PURL: purl("std", goVersion)}
	std.BOMRef = std.PURL
	std.Properties = []Property{{"golang:go", info.GoVersion}}

	comps := []Component{std}
	deps := []Dependency{{Ref: main.BOMRef, DependsOn: []string{std.BOMRef}}, {Ref: std.BOMRef, DependsOn: []string{}}}
	for _, m := range info.Deps {
		c := Component{Type: "library", Name: m.Path, Version: m.Version, Scope: "required", PURL: purl(m.Path, m.Version)}
		if m.Sum != "" {
			c.Properties = append(c.Properties, Property{"golang:sum", m.Sum})
		}
		if r := m.Replace; r != nil {
			// The code linked in is the replacement's: name it, and say what it replaces.
			c.Name, c.Version, c.PURL = r.Path, r.Version, purl(r.Path, r.Version)
			c.Properties = append(c.Properties, Property{"golang:replaces", m.Path + "@" + m.Version})
			if r.Sum != "" {
				c.Properties = append(c.Properties, Property{"golang:sum", r.Sum})
			}
		}
		c.BOMRef = c.PURL
		comps = append(comps, c)
		deps[0].DependsOn = append(deps[0].DependsOn, c.BOMRef)
		deps = append(deps, Dependency{Ref: c.BOMRef, DependsOn: []string{}})
	}

	tool := Component{Type: "application", Name: "golive-sbom"}
	if self, ok := debug.ReadBuildInfo(); ok && self.Main.Version != "(devel)" {
		tool.Version = self.Main.Version
	}
	return BOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: serial(sum),
		Version:      1,
		Metadata: Metadata{
			Timestamp: o.timestamp.UTC().Format(time.RFC3339),
			Tools:     Tools{Components: []Component{tool}},
			Component: main,
		},
		Components:   comps,
		Dependencies: deps,
	}
}

// purl is the package URL of a Go module version: pkg:golang/PATH@VERSION?type=module,
// each part percent-encoded as the purl specification asks.
func purl(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + escape(version)
	}
	return p + "?type=module"
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// serial is a version 4-shaped UUID URN derived from the binary's hash, so the
// same binary always gets the same serial number.
func serial(sum [32]byte) string {
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
