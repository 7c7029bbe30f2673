// Package safefile opens and reads input files without blocking or unbounded reads:
// the path must name a regular file (a FIFO, device, socket or directory, or a link to
// one, is refused before it is opened), it is opened non-blocking where the system
// has that flag (so a FIFO swapped in after the check cannot hang the open), checked
// again on the open descriptor, and its size is compared with a limit before a byte
// is read. It also writes files atomically (WriteAtomic, WriteFile): temporary file,
// fsync, rename, fsync of the directory.
package safefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/attend-go/attend"
	"github.com/pkg/errors"
)

var (
	// ErrNotRegular is wrapped by the error for a path that is not a regular file.
	// It matches attend.ErrData.
	ErrNotRegular = attend.Kind(attend.ErrData, "not a regular file")
	// ErrTooLarge is wrapped by the error for a file over the size limit. It matches
	// attend.ErrData.
	ErrTooLarge = attend.Kind(attend.ErrData, "file too large")
)

// SizeError is the error for a file over a size limit; it matches ErrTooLarge.
type SizeError struct{ Size, Limit int64 }

func (e *SizeError) Error() string {
	return fmt.Sprintf("is %s, over the %s limit", Size(e.Size), Size(e.Limit))
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// notRegular is the error for a path that is not a regular file; it matches ErrNotRegular.
type notRegular struct{ what string }

func (e *notRegular) Error() string        { return "is " + e.what + ", not a regular file" }
func (e *notRegular) Is(target error) bool { return target == ErrNotRegular }

// kind describes a non-regular file mode in words.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// Size renders a byte count for messages: "1.5 GiB", "12.0 MiB", "300 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Open opens the regular file at path for reading and returns it with its size. A
// path that is not a regular file (after following links) gives an error wrapping
// ErrNotRegular that says what it is; a missing file the os error (fs.ErrNotExist).
// Errors do not name the path: callers do.
func Open(path string) (*os.File, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	if !info.Mode().IsRegular() {
		what := kind(info.Mode())
		if l, err := os.Lstat(path); err == nil && l.Mode()&fs.ModeSymlink != 0 {
			what = "a link to " + what
		}
		return nil, 0, &notRegular{what}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	// The path may have been replaced between Stat and OpenFile: check what was opened.
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !got.Mode().IsRegular() || !os.SameFile(info, got) {
		f.Close()
		return nil, 0, &notRegular{"a file that changed while being opened"}
	}
	if err := clearNonBlock(f); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, got.Size(), nil
}

// ReadFile reads the regular file at path whole, refusing (before reading) a file of
// more than limit bytes with a *SizeError (matching ErrTooLarge) that names the limit. A file
// that grows while it is read is refused too. Errors do not name the path.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, &SizeError{Size: size, Limit: limit}
	}
	return ReadExactly(f, size)
}

// ReadExactly reads the n bytes that remain of f, failing if it holds fewer or more
// (a file changed while being read).
func ReadExactly(r io.Reader, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errors.Errorf("shrank while being read (%s expected)", Size(n))
		}
		return nil, err
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		return nil, errors.New("grew while being read")
	}
	return b, nil
}

// unwrapPath drops the *fs.PathError wrapper (its path and operation), keeping the
// cause, so that callers can name the file once in their own words.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
