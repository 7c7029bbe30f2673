//go:build amd64 && !purego

package sgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

//go:noescape
func kernAVX2x6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX2x6x8(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x14x32(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x14x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x32(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x12x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x14x32b(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernAVX512x6x64(k int, a, b, c *float32, ldc int, alpha, beta float32)

var (
	avx512Kernel = &kernel{
		name: "avx512", variant: "14x32", mr: 14, nr: 32, full: kernAVX512x14x32,
		narrow: kernAVX512x14x16, nrNarrow: 16,
		kc: 256, mc: 14 * 10, nc: 1024,
	}
	avx2Kernel = &kernel{
		name: "avx2", variant: "6x16", mr: 6, nr: 16, full: kernAVX2x6x16,
		narrow: kernAVX2x6x8, nrNarrow: 8,
		kc: 256, mc: 6 * 24, nc: 1024,
	}
	// experimental variants (benchmarks only)
	extraKernels = []*kernel{
		{name: "avx512", variant: "12x32", mr: 12, nr: 32, full: kernAVX512x12x32,
			narrow: kernAVX512x12x16, nrNarrow: 16, kc: 256, mc: 12 * 12, nc: 1024},
		{name: "avx512", variant: "14x32b", mr: 14, nr: 32, full: kernAVX512x14x32b,
			narrow: kernAVX512x14x16, nrNarrow: 16, kc: 256, mc: 14 * 10, nc: 1024},
		{name: "avx512", variant: "6x64", mr: 6, nr: 64, full: kernAVX512x6x64,
			kc: 256, mc: 6 * 24, nc: 1024},
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
