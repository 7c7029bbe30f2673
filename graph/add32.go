package graph

import "github.com/attend-go/attend/internal/vec"

// addInto32 is addInto for float32 (residual connections, gradient sums):
// internal/vec's 8-lane add.
func addInto32(dst, a, b []float32) { vec.AddF32(dst, a, b) }
