package graph

import (
	"math"

	"github.com/attend-go/attend/internal/num"

	"github.com/attend-go/attend/internal/sgemm"
	"github.com/attend-go/attend/internal/vec"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// float is num.Float under the name graph/attention.go still uses.
type float = num.Float

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm computes c = alpha·op(a)·op(b) + beta·c on row-major matrices with leading
// dimensions lda, ldb, ldc: op(a) is m×k, op(b) is k×n, c is m×n, using both cores for
// large products. float32 goes through attend's own SIMD kernels (internal/sgemm);
// float64 through gonum's blas64, or whatever BLAS is installed there.
func gemm[T num.Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmOn(true, sgemm.Tri{}, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSerial is gemm on the calling goroutine, for kernels that parallelise over heads.
func gemmSerial[T num.Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmOn(false, sgemm.Tri{}, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSerialTri is gemmSerial for a product with the triangular structure tri (see
// sgemm.Tri), which float32 products of more than two rows use to skip work; float64
// ones and gemvRows' small ones ignore it and compute everything. The callers must
// hold to what sgemm.Tri promises: elements of C it leaves out are not read, and the
// results it allows to change by the sign of a zero may change.
func gemmSerialTri[T num.Float](tri sgemm.Tri, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmOn(false, tri, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmOn is gemm (parallel) or gemmSerial; a serial float32 product skips the work tri
// allows (parallel products take sgemm.Tri{}).
func gemmOn[T num.Float](parallel bool, tri sgemm.Tri, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch a := any(a).(type) {
	case []float64:
		blas64.Implementation().Dgemm(trans(tA), trans(tB), m, n, k, float64(alpha), a, lda,
			any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	case []float32:
		b, c := any(b).([]float32), any(c).([]float32)
		switch {
		case gemvRows(tA, tB, m, n, k, float32(alpha), a, lda, b, ldb, float32(beta), c, ldc):
		case parallel:
			sgemm.Gemm(tA, tB, m, n, k, float32(alpha), a, lda, b, ldb, float32(beta), c, ldc)
		default:
			sgemm.GemmSerialTri(tri, tA, tB, m, n, k, float32(alpha), a, lda, b, ldb, float32(beta), c, ldc)
		}
	}
}

// rowMask tells which keys of one row of scores are blocked: keys at or beyond limit
// (the causal horizon), and keys whose entry in mask or pad is non-zero.
type rowMask[T num.Float] struct {
	limit int // keys j >= limit are blocked
	mask  []T // nil, or one row of a 0/1 mask (1 = blocked)
	pad   []T // nil, or one batch row of a 0/1 key-padding mask (1 = padding)
}

func (r rowMask[T]) blocked(j int) bool {
	return j >= r.limit || (r.mask != nil && r.mask[j] != 0) || (r.pad != nil && r.pad[j] != 0)
}

// softmaxRow writes softmax(s) over the keys that are not blocked into dst (dst may be
// s). Blocked keys get exactly 0; a row with every key blocked is all zeros. The row
// maximum is subtracted before exponentiating, so no finite input overflows.
func softmaxRow[T num.Float](dst, s []T, r rowMask[T]) {
	if d, ok := any(dst).([]float32); ok && r.mask == nil && r.pad == nil {
		vec.SoftmaxF32(d, any(s).([]float32), min(max(r.limit, 0), len(s))) // the same arithmetic, 8 lanes at a time
		return
	}
	mx := math.Inf(-1)
	for j := 0; j < r.limit && j < len(s); j++ {
		if !r.blocked(j) && float64(s[j]) > mx {
			mx = float64(s[j])
		}
	}
	if math.IsInf(mx, -1) { // every key blocked (or the row is all -Inf)
		clear(dst)
		return
	}
	var sum float64
	for j := range s {
		if r.blocked(j) {
			dst[j] = 0
			continue
		}
		e := expOf(s[j] - T(mx))
		dst[j] = e
		sum += float64(e)
	}
	inv := 1 / sum
	for j := range dst {
		dst[j] = T(float64(dst[j]) * inv)
	}
}

// logSoftmaxRow writes log-softmax(s) over the keys that are not blocked into dst.
// Blocked keys get -Inf (the log of their probability, 0); a fully blocked row is all -Inf.
func logSoftmaxRow[T num.Float](dst, s []T, r rowMask[T]) {
	mx := math.Inf(-1)
	for j := 0; j < r.limit && j < len(s); j++ {
		if !r.blocked(j) && float64(s[j]) > mx {
			mx = float64(s[j])
		}
	}
	ninf := T(math.Inf(-1))
	if math.IsInf(mx, -1) {
		for j := range dst {
			dst[j] = ninf
		}
		return
	}
	var sum float64
	for j := range s {
		if !r.blocked(j) {
			sum += math.Exp(float64(s[j]) - mx)
		}
	}
	lse := mx + math.Log(sum)
	for j := range s {
		if r.blocked(j) {
			dst[j] = ninf
		} else {
			dst[j] = T(float64(s[j]) - lse)
		}
	}
}

// softmaxGradRow writes dx = p ⊙ (g − Σ g⊙p): the gradient of softmax given its output p
// and the upstream gradient g. Where p is 0 (blocked keys) dx is exactly 0.
func softmaxGradRow[T num.Float](dx, p, g []T) {
	var dot float64
	for j := range p {
		dot += float64(g[j]) * float64(p[j])
	}
	softmaxGradRowD(dx, p, g, T(dot))
}

// softmaxGradRowD is softmaxGradRow given the dot product d = T(Σ g⊙p): dx = p ⊙ (g − d),
// exactly 0 where p is 0 (float32: internal/vec's). dx may be g.
func softmaxGradRowD[T num.Float](dx, p, g []T, d T) {
	if x, ok := any(dx).([]float32); ok {
		vec.SoftmaxGradRowF32(x, any(p).([]float32), any(g).([]float32), float32(d))
		return
	}
	for j := range p {
		if p[j] == 0 {
			dx[j] = 0
			continue
		}
		dx[j] = p[j] * (g[j] - d)
	}
}

// logSoftmaxGradRow writes dx = g − exp(y)·Σ g over the unblocked keys, given the
// log-softmax output y; blocked keys (y = -Inf) get exactly 0.
func logSoftmaxGradRow[T num.Float](dx, y, g []T) {
	var sum float64
	for j := range y {
		if !math.IsInf(float64(y[j]), -1) {
			sum += float64(g[j])
		}
	}
	for j := range y {
		if math.IsInf(float64(y[j]), -1) {
			dx[j] = 0
			continue
		}
		dx[j] = T(float64(g[j]) - math.Exp(float64(y[j]))*sum)
	}
}
