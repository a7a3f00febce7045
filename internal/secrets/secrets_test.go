package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.env")
	os.WriteFile(file, []byte("# comment\nDB_PASSWORD='from file'\nexport TOKEN=abc\n\n"), 0o600)
	got, err := Load([]string{"GOLIVE_SECRET_DB_PASSWORD=from env", "GOLIVE_SECRET_API=k", "HOME=/root", "GOLIVE_SECRET_="}, file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"DB_PASSWORD": "from file", "API": "k", "TOKEN": "abc"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(nil, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: want an error")
	}
	file := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(file, []byte("OK=1\nnot a pair\n"), 0o600)
	_, err := Load(nil, file)
	if err == nil || err.Error() != "secrets file "+file+":2: want NAME=VALUE" {
		t.Errorf("got %v", err)
	}
}
