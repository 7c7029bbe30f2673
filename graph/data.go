package graph

import (
	"github.com/attend-go/attend/internal/num"

	"unsafe"

	"gorgonia.org/tensor"
)

// data returns d's elements as a []T sharing d's memory. tensor.Dense.Data builds its
// slice through reflection and allocates on every call; in a training step's hot loops
// that was a third of all allocations.
func data[T num.Float | int](d *tensor.Dense) []T {
	raw := d.Raw
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(z)))
}

func f64s(d *tensor.Dense) []float64 { return data[float64](d) }
func f32s(d *tensor.Dense) []float32 { return data[float32](d) }
func ints(d *tensor.Dense) []int     { return data[int](d) }
