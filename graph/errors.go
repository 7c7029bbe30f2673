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

// Cause returns the innermost error of err, following both Unwrap and the Err method of
// Gorgonia's machine errors, which wrap an op's error without Unwrap. Errors that an op
// returns while a machine runs (a target outside the vocabulary, say) are matched with
// errors.Is(graph.Cause(err), graph.ErrArgument).
func Cause(err error) error {
	for err != nil {
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			if e.Unwrap() == nil {
				return err
			}
			err = e.Unwrap()
		case interface{ Cause() error }:
			if e.Cause() == nil {
				return err
			}
			err = e.Cause()
		case interface{ Err() error }:
			if e.Err() == nil {
				return err
			}
			err = e.Err()
		default:
			return err
		}
	}
	return err
}
