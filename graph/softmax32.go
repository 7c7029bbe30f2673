package graph

import "github.com/attend-go/attend/internal/vec"

// softmaxGradPart is how many rows one part of the float32 softmax gradient loop does
// (vec.SoftmaxGradF32 interleaves them four at a time).
const softmaxGradPart = 16

// softmaxGradRows32 is softmaxGradRows for float32 softmax (not log-softmax): the same
// arithmetic, in internal/vec's kernels.
func softmaxGradRows32(dx, y, g []float32, k int) {
	rows := len(y) / k
	parallelFor((rows+softmaxGradPart-1)/softmaxGradPart, len(y)*4, func(c int) {
		lo, hi := c*softmaxGradPart*k, min((c+1)*softmaxGradPart, rows)*k
		vec.SoftmaxGradF32(dx[lo:hi], y[lo:hi], g[lo:hi], k)
	})
}
