package attend

import (
	"fmt"

	"github.com/pkg/errors"
)

// The sentinel errors every package of attend shares, matched with errors.Is. An error
// a package returns for bad input wraps one of them (the finer sentinels of a package,
// such as datasets.ErrInvalidUTF8 or train.ErrCheckpoint, match one of these too).
var (
	// ErrShape: a node or slice has the wrong number of dimensions, or sizes that do not
	// fit together.
	ErrShape = errors.New("shape mismatch")
	// ErrDtype: values that must share an element type do not, or the type is not one
	// the operation takes (float32 or float64 for learnables).
	ErrDtype = errors.New("dtype mismatch")
	// ErrArgument: an argument or a configuration field outside its domain (a nil
	// node, a non-positive count, a NaN rate, heads that do not divide the width).
	ErrArgument = errors.New("bad argument")
	// ErrData: data that cannot be used: text that is not valid UTF-8 or is binary, a
	// token id or symbol outside the vocabulary, a file that is too short, too large or
	// not regular, a checkpoint that is corrupt or not the one its state names.
	ErrData = errors.New("bad data")
)

// kind is a finer sentinel: its own message, and a general sentinel it also matches.
type kind struct {
	msg    string
	parent error
}

func (k *kind) Error() string { return k.msg }
func (k *kind) Unwrap() error { return k.parent }

// Kind returns a new sentinel error with message msg that errors.Is also matches to
// parent (one of ErrShape, ErrDtype, ErrArgument, ErrData, or another Kind).
func Kind(parent error, msg string) error { return &kind{msg: msg, parent: parent} }

// entry marks an error that has been wrapped at a public entry point.
type entry struct {
	where string
	err   error
}

func (e *entry) Error() string { return e.where + ": " + e.err.Error() }
func (e *entry) Unwrap() error { return e.err }

// Wrap prefixes err with where, the public function it leaves ("layers: NewLinear"),
// unless err has already left a public function of attend: an error is wrapped once, at
// the innermost entry point it passes, and the entry points that call each other (a
// GPT builds blocks, a block builds Linears) add nothing. The message says where once;
// the dotted names of nodes say which part of a model. Wrap(nil, …) is nil.
func Wrap(err error, where string) error {
	if err == nil {
		return nil
	}
	var e *entry
	if errors.As(err, &e) {
		return err
	}
	return &entry{where: where, err: err}
}

// Wrapf is Wrap with a formatted where.
func Wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return Wrap(err, fmt.Sprintf(format, args...))
}
