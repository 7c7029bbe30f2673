//go:build !unix

package safefile

import "os"

// nonBlock: systems without O_NONBLOCK rely on the Stat before the open.
const nonBlock = 0

func clearNonBlock(*os.File) error { return nil }
