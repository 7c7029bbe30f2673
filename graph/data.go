package graph

import (
	"github.com/attend-go/attend/internal/num"
	"gorgonia.org/tensor"
)

// data returns d's elements as a []T sharing d's memory (num.View).
func data[T num.Float | int](d *tensor.Dense) []T { return num.View[T](d) }

func f64s(d *tensor.Dense) []float64 { return data[float64](d) }
func f32s(d *tensor.Dense) []float32 { return data[float32](d) }
func ints(d *tensor.Dense) []int     { return data[int](d) }
