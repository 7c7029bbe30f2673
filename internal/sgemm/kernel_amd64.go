//go:build amd64 && !purego

package sgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// The micro-kernels of kernel_amd64.s (see gen_kernels.go and microKernel).
// P kernels read A(i,p) = a[p*as+i], R kernels a[i*as+p].

//go:noescape
func kernAVX2x6x16P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2x6x16R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2x6x8P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2x6x8R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x32P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x32R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x16P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x16R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x8P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x8R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x8x32P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x8x16P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x8x8P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x4x32P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x4x16P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x4x8P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

var (
	// avx512Kernel: 12×32 tiles in 24 ZMM accumulators. Measured here
	// (Sapphire Rapids, 2 vCPUs) against 14×32, 14×32 with embedded
	// broadcasts and 6×64: 14×32 is on par, the others are slower on the
	// narrow or short shapes; 12 divides the 768 rows of a GPT step.
	avx512Kernel = &kernel{
		name: "avx512", variant: "12x32", mr: 12, nr: 32,
		widths: []int{32, 16, 8}, heights: []int{4, 8, 12},
		p: [][]microKernel{
			{kernAVX512x4x32P, kernAVX512x4x16P, kernAVX512x4x8P},
			{kernAVX512x8x32P, kernAVX512x8x16P, kernAVX512x8x8P},
			{kernAVX512x12x32P, kernAVX512x12x16P, kernAVX512x12x8P},
		},
		r:  []microKernel{kernAVX512x12x32R, kernAVX512x12x16R, kernAVX512x12x8R},
		kc: 256, mc: 12 * 12, nc: 1024,
	}
	// avx2Kernel: 6×16 tiles in 12 YMM accumulators.
	avx2Kernel = &kernel{
		name: "avx2", variant: "6x16", mr: 6, nr: 16,
		widths: []int{16, 8}, heights: []int{6},
		p:  [][]microKernel{{kernAVX2x6x16P, kernAVX2x6x8P}},
		r:  []microKernel{kernAVX2x6x16R, kernAVX2x6x8R},
		kc: 256, mc: 6 * 24, nc: 1024,
	}
)

// kernels lists the kernels usable on this machine, best first.
var kernels = func() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return append(ks, genericKernel)
}()
