// Package num holds what every attend package needs to speak of its element types: the
// one float constraint of the module, and the one function that reads a value's
// elements as float64.
package num

// Float is the element type of every attend kernel, op and layer: attend graphs are
// float32 or float64. A user's runtime choice (tensor.Float32 or tensor.Float64) becomes
// a type parameter constrained by Float once, where an op or layer is built.
type Float interface{ ~float32 | ~float64 }
