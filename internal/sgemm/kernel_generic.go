package sgemm

import "unsafe"

// genericKernel is the portable 2×4 kernel used when no assembly kernel is
// available (the purego build tag, old CPUs; on arm64 it is the fallback
// behind NEON).
//
// Why 2×4: amd64 has 16 SSE registers and Go's ABI keeps X15 zero, so 15
// hold values; a 2×4 tile needs 8 accumulators, 4 elements of B, one of A
// and one product (14). A 4×4 tile (16 accumulators) spills on every step
// and ran at a third of this speed.
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
// How it is written matters for speed:
//   - Loads go through unsafe offsets from fixed base pointers: no bounds
//     checks (the caller guarantees the extent, see microKernel) and no
//     pointer ever points past its panel.
//   - The k loop is a single basic block ("for { …; if ib == end { break } }"
//     with no checks inside): the Phi nodes of the accumulators then live in
//     the same block as the adds that feed them, and the SSA scheduler keeps
//     each add next to its multiply. In a "for p := 0; p < k; p++" loop
//     the header is a separate block, the scheduler puts all multiplies
//     first and all adds last, and 8 products plus 8 accumulators spill.
//   - Two k steps per iteration halve the loop overhead; an odd k does
//     one step before the loop.
func gen2x4(k int, a unsafe.Pointer, si, sp uintptr, b unsafe.Pointer, c *float32, ldc int, alpha, beta float32) {
	a0p, a1p := a, unsafe.Add(a, si)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	ia, ib := uintptr(0), uintptr(0)
	if k&1 != 0 {
		b0, b1, b2, b3 := ld(b, 0), ld(b, 4), ld(b, 8), ld(b, 12)
		a0 := ld(a0p, 0)
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := ld(a1p, 0)
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		ia, ib = sp, 16
	}
	if end := uintptr(k) * 16; ib < end {
		for {
			b0, b1, b2, b3 := ld(b, ib), ld(b, ib+4), ld(b, ib+8), ld(b, ib+12)
			a0 := ld(a0p, ia)
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := ld(a1p, ia)
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			b0, b1, b2, b3 = ld(b, ib+16), ld(b, ib+20), ld(b, ib+24), ld(b, ib+28)
			a0 = ld(a0p, ia+sp)
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 = ld(a1p, ia+sp)
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			ib += 32
			ia += 2 * sp
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
