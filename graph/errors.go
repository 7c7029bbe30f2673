package graph

import "github.com/attend-go/attend"

// The module's sentinel errors (package attend), under the names this package has
// always given them: they are the same values, so errors.Is(err, graph.ErrShape) and
// errors.Is(err, attend.ErrShape) agree. Every error this package returns for bad input
// wraps one of them and names the node, the shapes or the value that was wrong.
var (
	// ErrShape is attend.ErrShape: a node has the wrong number of dimensions or sizes
	// that do not fit.
	ErrShape = attend.ErrShape
	// ErrDtype is attend.ErrDtype: nodes that must share an element type do not, or the
	// type is not a float.
	ErrDtype = attend.ErrDtype
	// ErrArgument is attend.ErrArgument: an argument outside its domain (nil node,
	// non-positive count, NaN).
	ErrArgument = attend.ErrArgument
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
