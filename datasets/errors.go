package datasets

import (
	"github.com/attend-go/attend/internal/safefile"
	"github.com/pkg/errors"
)

// Sentinel errors. Every error returned by this package wraps exactly one of them.
var (
	ErrInvalidArgument = errors.New("invalid argument")
	ErrUnknownSymbol   = errors.New("unknown symbol")
	ErrIDOutOfRange    = errors.New("token id out of range")
	ErrInvalidUTF8     = errors.New("invalid UTF-8")
	ErrEmpty           = errors.New("empty input")
	ErrBinary          = errors.New("binary data")
	ErrTooShort        = errors.New("too short")
	ErrBadVocab        = errors.New("bad vocabulary")
	ErrUnknownTask     = errors.New("unknown task")
	// ErrNotRegular: a path that is not a regular file (a FIFO, device, directory).
	ErrNotRegular = safefile.ErrNotRegular
	// ErrTooLarge: a file over the size limit (MaxTextFile for LoadTextFile).
	ErrTooLarge = safefile.ErrTooLarge
)

// IgnoreIndex is the target value at positions the loss must skip.
const IgnoreIndex = -1
