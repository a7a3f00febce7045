package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through the whole decode and validate
// path: it must never panic, and every problem must carry a position.
func FuzzDecode(f *testing.F) {
	for _, glob := range []string{"testdata/valid/*.yaml", "../../testdata/invalid/*.yaml", "../../examples/*/golive.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("golive: 1\nname: x\nstages: [{name: a, on: all, steps: [{name: s, run: '${{ vars.x }}'}]}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("<<: {golive: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, diags := ReadDocument("fuzz.yaml", data)
		if doc == nil {
			if len(diags) == 0 {
				t.Fatal("no document and no problem reported")
			}
			return
		}
		for _, env := range append([]string{""}, doc.EnvironmentNames()...) {
			p, diags := doc.Decode(env)
			if p != nil {
				p.File = "fuzz.yaml"
				diags = append(diags, Validate(p)...)
			}
			for _, d := range diags.Sorted() {
				if d.Msg == "" {
					t.Fatalf("empty message in %+v", d)
				}
			}
		}
	})
}
