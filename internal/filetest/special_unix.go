//go:build unix

package filetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Specials makes in dir what a reader of regular files must refuse at once, and
// returns their paths: a FIFO with no writer (which a plain read waits on forever), a
// link to /dev/zero (which it reads without end) and a sparse file of size bytes, named
// fifo, zero and sparse followed by ext.
func Specials(t testing.TB, dir, ext string, size int64) (fifo, zero, sparse string) {
	t.Helper()
	fifo, zero, sparse = filepath.Join(dir, "fifo"+ext), filepath.Join(dir, "zero"+ext), filepath.Join(dir, "sparse"+ext)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return fifo, zero, sparse
}
