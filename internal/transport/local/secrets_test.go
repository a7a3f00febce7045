package local

import (
	"context"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
)

func TestSecretsNotInherited(t *testing.T) {
	t.Setenv("GOLIVE_SECRET_TOKEN", "s3cr3t")
	t.Setenv("GOLIVE_VISIBLE", "yes")
	c, err := (&Transport{}).Dial(context.Background(), transport.Host{Name: "t", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out strings.Builder
	if _, err := c.Run(context.Background(), transport.Command{Script: `echo "[$GOLIVE_SECRET_TOKEN][$GOLIVE_VISIBLE]"`, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "[][yes]" {
		t.Errorf("step saw %q: GOLIVE_SECRET_* must not be inherited", got)
	}
}
