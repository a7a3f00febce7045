package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCIRecipesAreValid: every YAML block of docs/ci.md parses, and every
// golive command in it names a real command with real flags (golive
// CMD FLAGS --help exits 0; an unknown flag exits 2).
func TestCIRecipesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("want the GitHub and GitLab recipes, found %d YAML blocks", len(blocks))
	}
	cmdRe := regexp.MustCompile(`\bgolive ((?:validate|review|run|resume|status|logs|approve)\b[^|;>\n]*)`)
	seen := map[string]bool{}
	for _, b := range blocks {
		var v any
		if err := yaml.Unmarshal([]byte(b[1]), &v); err != nil {
			t.Errorf("a YAML block of docs/ci.md does not parse: %v\n%s", err, b[1])
		}
		for _, m := range cmdRe.FindAllStringSubmatch(b[1], -1) {
			line := strings.TrimSpace(strings.SplitN(m[1], "#", 2)[0])
			line = strings.TrimSuffix(strings.TrimSuffix(line, "'"), `"`)
			var args []string
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "-") {
					args = append(args, f)
				} else {
					args = append(args, "x") // a value: "$PLAN", "${{ inputs.run }}" ...
				}
			}
			args[0] = strings.Fields(line)[0]
			seen[args[0]] = true
			var out, errb bytes.Buffer
			if code := Main(context.Background(), append(args, "--help"), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
				t.Errorf("docs/ci.md: `golive %s`: exit %d: %s", line, code, errb.String())
			}
		}
	}
	for _, cmd := range []string{"validate", "review", "run", "resume"} {
		if !seen[cmd] {
			t.Errorf("docs/ci.md has no golive %s", cmd)
		}
	}
}
