package num

import (
	"unsafe"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// View returns d's elements as a []T sharing d's memory, without checks: d must hold
// elements of type T (or int, for id tensors). tensor.Dense.Data builds its slice
// through reflection and allocates on every call; kernels that run every step use View.
func View[T Float | int](d *tensor.Dense) []T {
	raw := d.Raw
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(z)))
}

// Slice returns v's elements as a []T sharing v's memory, checked: v must be a
// contiguous *tensor.Dense of element type T whose backing array holds exactly its
// elements, or a Gorgonia scalar (*gorgonia.F32, *gorgonia.F64) of type T. Writing into
// the slice writes into v.
func Slice[T Float](v G.Value) ([]T, error) {
	want := DtypeOf[T]()
	switch x := v.(type) {
	case nil:
		return nil, errors.New("value is nil")
	case *tensor.Dense:
		if x == nil {
			return nil, errors.New("value is nil")
		}
		if x.Dtype() != want {
			return nil, errors.Errorf("dtype %v; want %v", x.Dtype(), want)
		}
		if x.Size() > 0 && x.RequiresIterator() { // tensor flags empty tensors
			return nil, errors.New("value is a non-contiguous view")
		}
		s := View[T](x)
		if len(s) != x.Size() {
			return nil, errors.Errorf("backing array holds %d elements for shape %v", len(s), x.Shape())
		}
		return s, nil
	case *G.F32:
		if x != nil && want == tensor.Float32 {
			return unsafe.Slice((*T)(unsafe.Pointer(x)), 1), nil
		}
	case *G.F64:
		if x != nil && want == tensor.Float64 {
			return unsafe.Slice((*T)(unsafe.Pointer(x)), 1), nil
		}
	}
	return nil, errors.Errorf("value of type %T is not a %v tensor or scalar", v, want)
}

// Float64s returns a copy of the elements of a float32 or float64 value (a contiguous
// *tensor.Dense or a Gorgonia scalar) as float64s: the one way attend reads a value's
// numbers out of a graph.
func Float64s(v G.Value) ([]float64, error) {
	if s, err := Slice[float64](v); err == nil {
		return append([]float64(nil), s...), nil
	}
	s, err := Slice[float32](v)
	if err != nil {
		return nil, errors.Wrap(err, "want a contiguous float32 or float64 value")
	}
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = float64(x)
	}
	return out, nil
}

// Dense is a new tensor of dtype dt (float32 or float64) and the given shape holding
// vals, converted to dt.
func Dense(dt tensor.Dtype, shape []int, vals []float64) (*tensor.Dense, error) {
	switch dt {
	case tensor.Float64:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), vals...))), nil
	case tensor.Float32:
		f := make([]float32, len(vals))
		for i, x := range vals {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f)), nil
	}
	return nil, errors.Errorf("dtype %v; want float32 or float64", dt)
}
