package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/internal/sgemm"
)

// gemvRows, the path of one- and two-row float32 products, agrees with internal/sgemm
// for every transpose, with leading dimensions wider than the matrices, and beta 0 (C's
// NaNs overwritten) or not; it writes nothing outside the m×n of C.
func TestGemvRowsMatchesSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, m := range []int{1, 2} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float32{0, 1.5} {
					t.Run(fmt.Sprintf("m%d/tA=%v/tB=%v/beta=%v", m, tA, tB, beta), func(t *testing.T) {
						n, k := 37, 19
						lda, ldb, ldc := k+3, n+2, n+5
						ar, br := m, k
						if tA {
							lda, ar = m+4, k
						}
						if tB {
							ldb, br = k+1, n
						}
						a, b := fill(ar*lda), fill(br*ldb)
						c0 := fill(m * ldc)
						if beta == 0 {
							for i := range n {
								c0[i] = float32(math.NaN())
							}
						}
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						sgemm.Gemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, beta, want, ldc)
						if !gemvRows(tA, tB, m, n, k, 0.5, a, lda, b, ldb, beta, got, ldc) {
							t.Fatal("not handled")
						}
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								g, w := got[i*ldc+j], want[i*ldc+j]
								if j >= n && g != c0[i*ldc+j] {
									t.Fatalf("c[%d][%d] past the n columns changed", i, j)
								}
								if math.Abs(float64(g-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
									t.Fatalf("c[%d][%d] = %v; sgemm %v", i, j, g, w)
								}
							}
						}
					})
				}
			}
		}
	}
}
