package load

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestInvalidPlans loads every plan under testdata/invalid and compares
// its problems, one FILE:LINE:COL: message a line, with NAME.golden.
func TestInvalidPlans(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "invalid")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) < 30 {
		t.Fatalf("want at least 30 broken plans in %s, found %d (%v)", dir, len(files), err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			res, err := Load(Options{File: file, AllEnvs: true})
			var got string
			switch {
			case err != nil:
				got = "error: " + err.Error() + "\n"
			default:
				if !res.Diags.HasErrors() {
					t.Errorf("%s: no errors; a broken plan must be refused", file)
				}
				for _, d := range res.Diags {
					got += d.String() + "\n"
				}
			}
			got = strings.ReplaceAll(got, dir+string(filepath.Separator), "")
			golden := filepath.Join(dir, name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("%s:\n got:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}
