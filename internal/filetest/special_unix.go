//go:build unix

package filetest

import (
	"os"
	"syscall"
	"testing"
)

// Specials makes, at the three paths given, what a reader of regular files must refuse
// at once: a FIFO with no writer (which a plain read waits on forever), a link to
// /dev/zero (which it reads without end) and a sparse file of size bytes.
func Specials(t testing.TB, fifo, zero, sparse string, size int64) {
	t.Helper()
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
}
