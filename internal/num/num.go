// Package num holds what every attend package needs to speak of its element types: the
// one float constraint of the module, and the one function that reads a value's
// elements as float64.
package num

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Float is the element type of every attend kernel, op and layer: attend graphs are
// float32 or float64. A user's runtime choice (tensor.Float32 or tensor.Float64) becomes
// a type parameter constrained by Float once, where an op or layer is built.
type Float interface{ ~float32 | ~float64 }

// DtypeOf is the tensor.Dtype of T: tensor.Float32 or tensor.Float64.
func DtypeOf[T Float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

// ByDtype returns f64 for tensor.Float64 and f32 for tensor.Float32: the one place in
// the module where a runtime dtype becomes a type parameter, as in
// ByDtype(x.Dtype(), kernel[float64], kernel[float32]). Any other dtype is an error.
func ByDtype[F any](dt tensor.Dtype, f64, f32 F) (F, error) {
	switch dt {
	case tensor.Float64:
		return f64, nil
	case tensor.Float32:
		return f32, nil
	}
	var none F
	return none, errors.Errorf("dtype %v; want float32 or float64", dt)
}
