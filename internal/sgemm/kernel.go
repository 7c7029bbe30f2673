package sgemm

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
	name    string // "avx512", "avx2", "neon" or "generic" (what Kernel reports)
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
