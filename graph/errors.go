package graph

import "github.com/pkg/errors"

// Sentinel errors, matched with errors.Is. Every error this package returns for bad
// input wraps one of them and names the node, the shapes or the value that was wrong.
var (
	// ErrShape: a node has the wrong number of dimensions or sizes that do not fit.
	ErrShape = errors.New("shape mismatch")
	// ErrDtype: nodes that must share an element type do not, or the type is not a float.
	ErrDtype = errors.New("dtype mismatch")
	// ErrArgument: an argument outside its domain (nil node, non-positive count, NaN).
	ErrArgument = errors.New("bad argument")
)
