package safefile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/internal/safefile"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	for _, content := range []string{`{"a":1}`, `{"b":2}`, ``} {
		if err := safefile.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("file holds %q, %v; want %q", got, err, content)
		}
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	if left := filetest.TempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestWriteAtomicFailures(t *testing.T) {
	t.Run("rename over a directory", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "config.json") // a non-empty directory
		if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := safefile.WriteFile(target, []byte("x"), 0o644); err == nil {
			t.Fatal("WriteFile over a directory succeeded")
		}
		if left := filetest.TempFiles(t, dir); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
	t.Run("write fails", func(t *testing.T) {
		dir, path := filetest.Previous(t, "config.json", 0o644)
		boom := errors.New("boom")
		err := safefile.WriteAtomic(path, 0o644, func(w io.Writer) error {
			_, _ = w.Write([]byte("partial"))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error = %v, want the writer's", err)
		}
		if got, _ := os.ReadFile(path); string(got) != "previous" {
			t.Errorf("file changed to %q", got)
		}
		if left := filetest.TempFiles(t, dir); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
}
