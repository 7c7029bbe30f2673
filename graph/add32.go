package graph

import "github.com/attend-go/attend/internal/vec"

// addInto32 is addInto for float32 (residual connections, gradient sums):
// internal/vec's 8-lane add, in parts over the cores when the vectors are long (a
// training step's activations are out of the L2 caches, and two cores stream them
// faster than one: 1–2% of a nanogpt-cpu step here, interleaved steps in one run).
func addInto32(dst, a, b []float32) {
	parallelDo((len(dst)+addChunk-1)/addChunk, len(dst), addChunks32{dst, a, b})
}

// addChunk is how many elements one part of addInto32 adds.
const addChunk = 8192

// addChunks32 is addInto32's loop body (a value, so that the loop allocates nothing):
// chunk k of dst = a + b.
type addChunks32 struct{ dst, a, b []float32 }

func (s addChunks32) Do(k int) {
	lo, hi := k*addChunk, min((k+1)*addChunk, len(s.dst))
	vec.AddF32(s.dst[lo:hi], s.a[lo:hi], s.b[lo:hi])
}
