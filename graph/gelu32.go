package graph

import "github.com/attend-go/attend/internal/vec"

// The float32 GELU loops: the hot loops of a training step after the matrix products,
// run in parts over the cores, each part by internal/vec's kernels (AVX2 where the CPU
// has it; bit-identical Go code elsewhere).

// geluForward32 writes y = x·Φ(x).
func geluForward32(y, x []float32) {
	parallelDo((len(x)+geluChunk-1)/geluChunk, len(x)*20, geluChunks32{y, x})
}

// geluChunk is how many elements one part of a GELU loop does.
const geluChunk = 4096

// geluChunks32 is geluForward32's loop body (a value, so that the loop
// allocates nothing): chunk c of y = x·Φ(x).
type geluChunks32 struct{ y, x []float32 }

func (g geluChunks32) Do(c int) {
	xs := g.x[c*geluChunk : min((c+1)*geluChunk, len(g.x))]
	vec.GeluF32(g.y[c*geluChunk:c*geluChunk+len(xs)], xs)
}

// geluBackward32 writes dx = dy·(Φ(x) + x·φ(x)), taking Φ(x) = y/x from the forward
// output y = x·Φ(x) (and from erf near 0, where the quotient loses precision).
func geluBackward32(dx, x, y, dy []float32) {
	const chunk = geluChunk
	parallelFor((len(x)+chunk-1)/chunk, len(x)*15, func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, len(x))
		vec.GeluGradF32(dx[lo:hi], x[lo:hi], y[lo:hi], dy[lo:hi])
	})
}
