//go:build unix

package datasets_test

import (
	"fmt"
	"testing"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/internal/filetest"
)

// TestLoadTextFileNotRegular: a FIFO (which os.ReadFile waits on forever), devices (which
// it reads without end), a directory and a sparse file over the limit are each one
// error at once, naming the file and, for the size, the limit.
func TestLoadTextFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo, zero, big := filetest.Specials(t, dir, ".txt", datasets.MaxTextFile+1)
	tests := []struct {
		name, path string
		sentinel   error
		contains   []string
	}{
		{"FIFO", fifo, datasets.ErrNotRegular, []string{"fifo.txt", "named pipe"}},
		{"/dev/zero", "/dev/zero", datasets.ErrNotRegular, []string{"/dev/zero", "character device"}},
		{"link to /dev/zero", zero, datasets.ErrNotRegular, []string{"zero.txt", "link to a character device"}},
		{"directory", dir, datasets.ErrNotRegular, []string{dir, "directory"}},
		{"over the limit", big, datasets.ErrTooLarge, []string{"sparse.txt", "1.0 GiB limit", "MaxTextFile"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := filetest.NoBlock(t, fmt.Sprintf("LoadTextFile(%s)", tc.path), func() error {
				_, err := datasets.LoadTextFile(tc.path)
				return err
			})
			checkErr(t, err, tc.sentinel, tc.contains...)
		})
	}
}
