package sgemm

import "unsafe"

// genericKernel is the portable 2×4 kernel used when no assembly kernel is
// available (the purego build tag, old CPUs; on arm64 it is the fallback
// behind NEON).
//
// Why 2×4: amd64 has 16 SSE registers and Go's ABI keeps X15 zero, so 15
// hold values; a 2×4 tile needs 8 accumulators, 2 elements of A, one of B
// and one product. A 4×4 tile (16 accumulators) cannot stay in registers.
var genericKernel = &kernel{
	name: "generic", variant: "2x4", mr: 2, nr: 4, widths: []int{4}, heights: []int{2},
	p: [][]microKernel{{kernGeneric2x4P}}, r: []microKernel{kernGeneric2x4R},
	kc: 256, mc: 128, nc: 1024,
}

// kernGeneric2x4P reads A(i,p) = a[p*as+i].
func kernGeneric2x4P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	gen2x4(k, unsafe.Pointer(a), 4, uintptr(as)*4, unsafe.Pointer(b), c, ldc, alpha, beta)
}

// kernGeneric2x4R reads A(i,p) = a[i*as+p].
func kernGeneric2x4R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	gen2x4(k, unsafe.Pointer(a), uintptr(as)*4, 4, unsafe.Pointer(b), c, ldc, alpha, beta)
}

// ld is the float32 at byte offset off from p.
func ld(p unsafe.Pointer, off uintptr) float32 { return *(*float32)(unsafe.Add(p, off)) }

// gen2x4 is the 2×4 kernel with A(i,p) at byte offset i*si + p*sp from a and
// B(p,j) at b[4p+j]. Each element of C is one sum over p in order, from 0,
// of float32 products (fused into FMAs where the compiler does so: arm64,
// GOAMD64=v3).
//
// How it is written matters for speed (TestTuneGeneric measures it):
//   - Loads go through unsafe offsets from fixed base pointers: no bounds
//     checks (the caller guarantees the extent, see microKernel) and no
//     pointer ever points past its panel.
//   - The main k loop is a single basic block ("for { …; if ib == end {
//     break } }" with no checks inside): the Phi nodes of the accumulators
//     then live in the same block as the adds that feed them, and the SSA
//     scheduler keeps each add next to its multiply. In a "for p := 0;
//     p < k; p++" loop the header is a separate block, the scheduler puts
//     all multiplies first and all adds last, and 8 products plus 8
//     accumulators spill.
//   - Column by column (one element of B live at a time) the loop needs 12
//     registers: no spills even with alpha and beta live.
//   - Four k steps per iteration; k mod 4 single steps go first.
func gen2x4(k int, a unsafe.Pointer, si, sp uintptr, pb unsafe.Pointer, c *float32, ldc int, alpha, beta float32) {
	a0p, a1p := a, unsafe.Add(a, si)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var a0, a1, b float32
	ia, ib := uintptr(0), uintptr(0)
	for r := k & 3; r > 0; r-- {
		a0, a1 = ld(a0p, ia), ld(a1p, ia)
		b = ld(pb, ib)
		c00 += b * a0
		c10 += b * a1
		b = ld(pb, ib+4)
		c01 += b * a0
		c11 += b * a1
		b = ld(pb, ib+8)
		c02 += b * a0
		c12 += b * a1
		b = ld(pb, ib+12)
		c03 += b * a0
		c13 += b * a1
		ia += sp
		ib += 16
	}
	if end := uintptr(k) * 16; ib < end {
		for {
			a0, a1 = ld(a0p, ia), ld(a1p, ia)
			b = ld(pb, ib)
			c00 += b * a0
			c10 += b * a1
			b = ld(pb, ib+4)
			c01 += b * a0
			c11 += b * a1
			b = ld(pb, ib+8)
			c02 += b * a0
			c12 += b * a1
			b = ld(pb, ib+12)
			c03 += b * a0
			c13 += b * a1
			a0, a1 = ld(a0p, ia+sp), ld(a1p, ia+sp)
			b = ld(pb, ib+16)
			c00 += b * a0
			c10 += b * a1
			b = ld(pb, ib+20)
			c01 += b * a0
			c11 += b * a1
			b = ld(pb, ib+24)
			c02 += b * a0
			c12 += b * a1
			b = ld(pb, ib+28)
			c03 += b * a0
			c13 += b * a1
			a0, a1 = ld(a0p, ia+2*sp), ld(a1p, ia+2*sp)
			b = ld(pb, ib+32)
			c00 += b * a0
			c10 += b * a1
			b = ld(pb, ib+36)
			c01 += b * a0
			c11 += b * a1
			b = ld(pb, ib+40)
			c02 += b * a0
			c12 += b * a1
			b = ld(pb, ib+44)
			c03 += b * a0
			c13 += b * a1
			a0, a1 = ld(a0p, ia+3*sp), ld(a1p, ia+3*sp)
			b = ld(pb, ib+48)
			c00 += b * a0
			c10 += b * a1
			b = ld(pb, ib+52)
			c01 += b * a0
			c11 += b * a1
			b = ld(pb, ib+56)
			c02 += b * a0
			c12 += b * a1
			b = ld(pb, ib+60)
			c03 += b * a0
			c13 += b * a1
			ia += 4 * sp
			ib += 64
			if ib == end {
				break
			}
		}
	}
	cs := unsafe.Slice(c, ldc+4)
	store4(cs[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
}

// store4 sets c[0:4] = alpha·x + beta·c[0:4] (beta == 0: alpha·x).
func store4(c []float32, x0, x1, x2, x3, alpha, beta float32) {
	_ = c[3] // one bounds check for the four stores
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = alpha*x0 + beta*c[0]
	c[1] = alpha*x1 + beta*c[1]
	c[2] = alpha*x2 + beta*c[2]
	c[3] = alpha*x3 + beta*c[3]
}
