//go:build unix

package safefile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/internal/safefile"
)

// TestReadFileRefuses checks each kind of path that must be refused at once, without
// blocking (a FIFO with no writer) or reading (a device, a 20 GiB sparse file).
func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo, zero, sparse := filetest.Specials(t, dir, "", 20<<30)
	tests := []struct {
		path string
		want string
		is   error
	}{
		{fifo, "is a named pipe (FIFO)", safefile.ErrNotRegular},
		{"/dev/null", "is a character device", safefile.ErrNotRegular},
		{zero, "is a link to a character device", safefile.ErrNotRegular},
		{dir, "is a directory", safefile.ErrNotRegular},
		{sparse, "is 20.0 GiB, over the 1.0 MiB limit", safefile.ErrTooLarge},
		{filepath.Join(dir, "absent"), "no such file", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			err := filetest.NoBlock(t, fmt.Sprintf("ReadFile(%s)", tt.path), func() error {
				_, err := safefile.ReadFile(tt.path, 1<<20)
				return err
			})
			if err == nil || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadFile(%s) = %v; want an error saying %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := path + ".link"
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, link} {
		b, err := safefile.ReadFile(p, 5)
		if err != nil || string(b) != "hello" {
			t.Errorf("ReadFile(%s, 5) = %q, %v; want hello", p, b, err)
		}
	}
	if _, err := safefile.ReadFile(path, 4); !errors.Is(err, safefile.ErrTooLarge) || !strings.Contains(err.Error(), "is 5 bytes, over the 4 bytes limit") {
		t.Errorf("ReadFile(%s, 4): %v; want the size refused", path, err)
	}
}
