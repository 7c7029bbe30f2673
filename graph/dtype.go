package graph

import (
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Every op of this package picks its element type once, when it is built: the op's
// builder and kernels are generic in T (num.Float), and the public function instantiates
// them for its nodes' dtype with byDtype. No kernel or op body asks for a dtype again.

// byDtype is num.ByDtype with its error matching ErrDtype: the one place in this
// package where a node's runtime dtype becomes a type parameter, as in
// byDtype(x.Dtype(), layerNormOp[float64], layerNormOp[float32]).
func byDtype[F any](dt tensor.Dtype, f64, f32 F) (F, error) {
	f, err := num.ByDtype(dt, f64, f32)
	if err != nil {
		return f, errors.Wrap(ErrDtype, err.Error())
	}
	return f, nil
}

// build2 builds the op of two nodes in dtype dt, by f64 or f32.
func build2(dt tensor.Dtype, f64, f32 func(a, b *G.Node) (*G.Node, error), a, b *G.Node) (*G.Node, error) {
	build, err := byDtype(dt, f64, f32)
	if err != nil {
		return nil, err
	}
	return build(a, b)
}

// dtypeOf is the tensor.Dtype of T.
func dtypeOf[T num.Float]() tensor.Dtype { return num.DtypeOf[T]() }

// scalarOf is v as a Gorgonia scalar value of element type T.
func scalarOf[T num.Float](v float64) G.Value {
	if dtypeOf[T]() == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}
