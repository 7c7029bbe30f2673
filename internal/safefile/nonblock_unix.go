//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// nonBlock makes opening a FIFO return at once instead of waiting for a writer.
const nonBlock = syscall.O_NONBLOCK

// clearNonBlock puts the descriptor of a regular file back in blocking mode (O_NONBLOCK
// has no effect on regular files, but later readers need not know it was set).
func clearNonBlock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
