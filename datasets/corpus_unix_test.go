//go:build unix

package datasets_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/attend-go/attend/datasets"
)

// TestLoadTextFileNotRegular: a FIFO (which os.ReadFile waits on forever), devices (which
// it reads without end), a directory and a sparse file over the limit are each one
// error at once, naming the file and, for the size, the limit.
func TestLoadTextFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.txt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.txt")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.txt")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(datasets.MaxTextFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		name, path string
		sentinel   error
		contains   []string
	}{
		{"FIFO", fifo, datasets.ErrNotRegular, []string{"fifo.txt", "named pipe"}},
		{"/dev/zero", "/dev/zero", datasets.ErrNotRegular, []string{"/dev/zero", "character device"}},
		{"link to /dev/zero", zero, datasets.ErrNotRegular, []string{"zero.txt", "link to a character device"}},
		{"directory", dir, datasets.ErrNotRegular, []string{dir, "directory"}},
		{"over the limit", big, datasets.ErrTooLarge, []string{"big.txt", "1.0 GiB limit", "MaxTextFile"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := datasets.LoadTextFile(tc.path)
				done <- err
			}()
			select {
			case err := <-done:
				checkErr(t, err, tc.sentinel, tc.contains...)
			case <-time.After(5 * time.Second):
				t.Fatalf("LoadTextFile(%s) blocks", tc.path)
			}
		})
	}
}
