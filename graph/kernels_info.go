package graph

import (
	"github.com/attend-go/attend/internal/sgemm"
	"github.com/attend-go/attend/internal/vec"
)

// Kernels names the SIMD kernels the float32 ops run on this machine, chosen at
// start-up from the CPU's features: the matrix products' micro-kernel ("avx512",
// "avx2", "neon" or "generic") and the element-wise and row kernels' form ("avx512",
// "avx2", "neon" or "go"), as "gemm avx512, vector avx512". GODEBUG=cpu.avx512f=off
// (or cpu.avx2=off) makes a machine run its lesser kernels.
func Kernels() string {
	return "gemm " + sgemm.Kernel() + ", vector " + vec.Form()
}
