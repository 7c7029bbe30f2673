//go:build arm64 && !purego

package sgemm

//go:generate go run gen_kernels_arm64.go

// The NEON micro-kernels of kernel_arm64.s (see gen_kernels_arm64.go and
// microKernel): P kernels only, A(i,p) = a[p*as+i].

//go:noescape
func kernNEON8x12P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernNEON8x8P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernNEON8x4P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

// neonKernel: 8×12 tiles in 24 of the 32 vector registers, FMLA by
// element (Advanced SIMD is part of every arm64 CPU Go runs on). The last
// panel of op(B) of a block may be 8 or 4 wide. Every panel of op(A) is
// packed (alwaysPackA: there are no kernels reading A in place).
var neonKernel = &kernel{
	name: "neon", variant: "8x12", mr: 8, nr: 12,
	widths: []int{12, 8, 4}, heights: []int{8},
	p:           [][]microKernel{{kernNEON8x12P, kernNEON8x8P, kernNEON8x4P}},
	alwaysPackA: true,
	kc:          256, mc: 8 * 16, nc: 1020,
}

// kernels lists the kernels usable on this machine, best first.
var kernels = []*kernel{neonKernel, genericKernel}
