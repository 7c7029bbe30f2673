package graph

import (
	"sync"

	"github.com/attend-go/attend/internal/par"
	"github.com/attend-go/attend/internal/vec"
)

// addInto32 is addInto for float32 (residual connections, gradient sums):
// internal/vec's 8-lane add, in parts over the cores when the vectors are long (a
// training step's activations are out of the L2 caches, and two cores stream them
// faster than one: 1–2% of a nanogpt-cpu step here, interleaved steps in one run).
func addInto32(dst, a, b []float32) {
	n := (len(dst) + addChunk - 1) / addChunk
	if n < 2 || par.Threads() < 2 {
		vec.AddF32(dst, a, b)
		return
	}
	// A pooled body: par.ForBody would copy a value body to the heap at every call.
	s := addPool.Get().(*addChunks32)
	*s = addChunks32{dst, a, b}
	par.Run(n, n, s)
	*s = addChunks32{}
	addPool.Put(s)
}

// addChunk is how many elements one part of addInto32 adds.
const addChunk = 8192

// addChunks32 is addInto32's loop body: chunk k of dst = a + b.
type addChunks32 struct{ dst, a, b []float32 }

var addPool = sync.Pool{New: func() any { return new(addChunks32) }}

func (s *addChunks32) Do(k int) {
	lo, hi := k*addChunk, min((k+1)*addChunk, len(s.dst))
	vec.AddF32(s.dst[lo:hi], s.a[lo:hi], s.b[lo:hi])
}
