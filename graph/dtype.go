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

// byDtype returns f64 for tensor.Float64 and f32 for tensor.Float32 — the one place in
// this package where a node's runtime dtype becomes a type parameter, as in
// byDtype(x.Dtype(), layerNormOp[float64], layerNormOp[float32]).
func byDtype[F any](dt tensor.Dtype, f64, f32 F) (F, error) {
	switch dt {
	case tensor.Float64:
		return f64, nil
	case tensor.Float32:
		return f32, nil
	}
	var none F
	return none, errors.Wrapf(ErrDtype, "dtype %v; want float32 or float64", dt)
}

// dtypeOf is the tensor.Dtype of T.
func dtypeOf[T num.Float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

// scalarOf is v as a Gorgonia scalar value of element type T.
func scalarOf[T num.Float](v float64) G.Value {
	if dtypeOf[T]() == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}
