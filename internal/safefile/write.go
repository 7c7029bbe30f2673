package safefile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// WriteFile is os.WriteFile with WriteAtomic's discipline: readers see the old content
// or the new, never a part; on error the temporary file is removed. The file gets
// exactly mode perm (the umask is not applied).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic replaces the file at path with what write writes: the bytes go (buffered)
// to a temporary file ".<base>.tmp-*" in path's directory, which gets mode perm, is
// synced and renamed over path, and then the directory is synced. On any error before
// the rename path is left as it was and the temporary file is removed; an error
// syncing the directory is reported although path already holds the new content.
func WriteAtomic(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the write error matters
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is done; make it durable. Failure here is reported, but
	// path already holds the complete new content.
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if serr := d.Sync(); serr != nil {
		return errors.Wrap(serr, "sync directory")
	}
	return nil
}
