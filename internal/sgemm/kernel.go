package sgemm

import "unsafe"

// microKernel computes an mr×nr tile of C from a packed mr-tall panel of
// op(A) (a[p*mr+i]) and a packed nr-wide panel of op(B) (b[p*nr+j]), p < k:
//
//	C[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*nr+j] + beta·C[i*ldc+j]
//
// With beta == 0, C is only written (NaNs in C do not propagate). k ≥ 1.
// The caller guarantees that the whole tile lies inside C.
type microKernel func(k int, a, b, c *float32, ldc int, alpha, beta float32)

// kernel is a micro-kernel family with its blocking parameters.
type kernel struct {
	name    string // "avx512", "avx2" or "generic" (what Kernel reports)
	variant string // tile shape, e.g. "14x32"
	mr, nr  int
	full    microKernel // mr×nr
	// narrow, if non-nil, is an mr×nrNarrow kernel used for the last panel
	// of op(B) when at most nrNarrow columns remain (less zero-padding).
	narrow   microKernel
	nrNarrow int
	kc       int // depth of a packed panel (K block)
	mc       int // rows of op(A) per packed block; a multiple of mr
	nc       int // columns of op(B) per packed block; a multiple of nr
}

// panelWidth is the width of the packed op(B) panel that starts with rem
// columns left in the block.
func (kr *kernel) panelWidth(rem int) int {
	if kr.narrow != nil && rem <= kr.nrNarrow {
		return kr.nrNarrow
	}
	return kr.nr
}

// genericKernel is the portable 4×4 kernel used when no assembly kernel is
// available (other architectures, the purego build tag, old CPUs).
var genericKernel = &kernel{
	name: "generic", variant: "4x4", mr: 4, nr: 4, full: kernGeneric4x4,
	kc: 256, mc: 128, nc: 1024,
}

func kernGeneric4x4(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	as := unsafe.Slice(a, 4*k)
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		ap := as[4*p : 4*p+4 : 4*p+4]
		bp := bs[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0 := ap[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := ap[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := ap[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := ap[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	store4(cs[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	store4(cs[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	store4(cs[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

func store4(c []float32, x0, x1, x2, x3, alpha, beta float32) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = alpha*x0 + beta*c[0]
	c[1] = alpha*x1 + beta*c[1]
	c[2] = alpha*x2 + beta*c[2]
	c[3] = alpha*x3 + beta*c[3]
}
