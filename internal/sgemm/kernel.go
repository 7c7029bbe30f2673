package sgemm

import "unsafe"

// microKernel computes an mr×nr tile of C from mr rows of op(A) and a packed
// nr-wide panel of op(B) (b[p*nr+j]), p < k:
//
//	C[i*ldc+j] = alpha·Σ_p A(i,p)·b[p*nr+j] + beta·C[i*ldc+j]
//
// where A(i,p) = a[p*as+i] for the "P" kernels (a packed panel, as = mr)
// and a[i*as+p] for the "R" kernels (row-major A read in place, as = lda). With beta == 0, C is only
// written (NaNs in C do not propagate). k ≥ 1. The caller guarantees that
// everything read and the whole tile lie inside the slices.
type microKernel func(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32)

// kernel is a micro-kernel family with its blocking parameters.
type kernel struct {
	name    string // "avx512", "avx2" or "generic" (what Kernel reports)
	variant string // main tile shape, e.g. "12x32"
	mr, nr  int    // main tile: heights[len-1] × widths[0]
	// widths are the widths of the packed panels of op(B), decreasing from
	// nr: the last panel of a block gets the least width that holds what
	// is left (less zero-padding than a full nr).
	widths []int
	// heights are the heights of the kernels, increasing up to mr: whole
	// panels of op(A) use mr, a partial last one (always packed) the least
	// height that holds it.
	heights []int
	p       [][]microKernel // P kernels, [height index][width index]
	r       []microKernel   // R kernels (height mr), [width index]

	alwaysPackA bool // pack every panel of op(A), not only partial ones (tests)
	kc          int  // depth of a packed panel (K block)
	mc          int  // rows of op(A) per packed block; a multiple of mr
	nc          int  // columns of op(B) per packed block; a multiple of nr
}

// panelWidth is the width of the packed op(B) panel that starts with rem
// columns left in the block, and its index in kr.widths.
func (kr *kernel) panelWidth(rem int) (w, wi int) {
	for wi = len(kr.widths) - 1; wi > 0 && kr.widths[wi] < rem; wi-- {
	}
	return kr.widths[wi], wi
}

// panelHeight is the height of the kernel for a panel of op(A) with rows
// (≤ kr.mr) rows, and its index in kr.heights.
func (kr *kernel) panelHeight(rows int) (h, hi int) {
	for hi = 0; hi < len(kr.heights)-1 && kr.heights[hi] < rows; hi++ {
	}
	return kr.heights[hi], hi
}

// paddedWidth is the total width of the packed op(B) panels for n columns.
func (kr *kernel) paddedWidth(n int) int {
	t := 0
	for t < n {
		w, _ := kr.panelWidth(n - t)
		t += w
	}
	return t
}

// genericKernel is the portable 4×4 kernel used when no assembly kernel is
// available (other architectures, the purego build tag, old CPUs).
var genericKernel = &kernel{
	name: "generic", variant: "4x4", mr: 4, nr: 4, widths: []int{4}, heights: []int{4},
	p: [][]microKernel{{kernGeneric4x4P}}, r: []microKernel{kernGeneric4x4R},
	kc: 256, mc: 128, nc: 1024,
}

func kernGeneric4x4P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	as_ := unsafe.Slice(a, (k-1)*as+4)
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		ap := as_[p*as : p*as+4 : p*as+4]
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

func kernGeneric4x4R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	as_ := unsafe.Slice(a, 3*as+k)
	a0s, a1s, a2s, a3s := as_[:k], as_[as:as+k], as_[2*as:2*as+k], as_[3*as:3*as+k]
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p, a0 := range a0s {
		bp := bs[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a1s[p]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a2s[p]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a3s[p]
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
