package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemvRows is the float32 path of gemm for products of one or two rows (m ≤ 2), the
// shape of decoding one token at a time: one matrix-vector product per row of C through
// gonum's Sgemv, which reads op(B) where it lies. Packing B into panels first, as
// internal/sgemm does for larger products, costs more than the whole product at these
// sizes (2.3× for (1, 128) × (128, 512) here). It reports whether it handled the call.
func gemvRows(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if m > 2 || k == 0 {
		return false
	}
	impl := blas32.Implementation()
	for r := 0; r < m; r++ {
		y := c[r*ldc : r*ldc+n] // exactly n long: with beta = 0, gonum's Sgemv (Trans) clears all of y
		x, incX := a[r*lda:], 1 // row r of op(A)
		if tA {
			x, incX = a[r:], lda
		}
		if tB { // op(B) = Bᵀ with B (n, k): c_r = alpha·B·x + beta·c_r
			impl.Sgemv(blas.NoTrans, n, k, alpha, b, ldb, x, incX, beta, y, 1)
		} else { // B (k, n): c_r = alpha·Bᵀ·x + beta·c_r
			impl.Sgemv(blas.Trans, k, n, alpha, b, ldb, x, incX, beta, y, 1)
		}
	}
	return true
}
