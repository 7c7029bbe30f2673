package datasets

import (
	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/safefile"
)

// Sentinel errors. Every error returned by this package wraps exactly one of them, and
// through it one of the module's (package attend): ErrInvalidArgument is
// attend.ErrArgument itself; ErrUnknownTask matches attend.ErrArgument; the others are
// about the data and match attend.ErrData.
var (
	ErrInvalidArgument = attend.ErrArgument
	ErrUnknownTask     = attend.Kind(attend.ErrArgument, "unknown task")
	ErrUnknownSymbol   = attend.Kind(attend.ErrData, "unknown symbol")
	ErrIDOutOfRange    = attend.Kind(attend.ErrData, "token id out of range")
	ErrInvalidUTF8     = attend.Kind(attend.ErrData, "invalid UTF-8")
	ErrEmpty           = attend.Kind(attend.ErrData, "empty input")
	ErrBinary          = attend.Kind(attend.ErrData, "binary data")
	ErrTooShort        = attend.Kind(attend.ErrData, "too short")
	ErrBadVocab        = attend.Kind(attend.ErrData, "bad vocabulary")
	// ErrNotRegular: a path that is not a regular file (a FIFO, device, directory).
	ErrNotRegular = safefile.ErrNotRegular
	// ErrTooLarge: a file over the size limit (MaxTextFile for LoadTextFile).
	ErrTooLarge = safefile.ErrTooLarge
)

// IgnoreIndex is the target value at positions the loss must skip.
const IgnoreIndex = -1
