//go:build arm64 && !purego

package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rowStats8 and gradMeans8 give the Go loops' float64 means, rstds, m1 and m2 bit for
// bit (LayerNorm's float32 outputs would hide a difference in their last bits).
func TestRowKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	normal := func(n int, mu float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*2 + mu)
		}
		return x
	}
	for _, c := range []int{4, 8, 12, 64, 132} {
		x, dy, g := normal(8*c, 0.5), normal(8*c, 0), normal(c, 1)
		var mean, rstd, wmean, wrstd, m1, m2, wm1, wm2 [8]float64
		if !rowStats8(mean[:], rstd[:], x, c, 1e-5) || !gradMeans8(m1[:], m2[:], x, g, dy, c, mean[:], rstd[:]) {
			t.Fatalf("c %d: the NEON row kernels did not run", c)
		}
		for h := 0; h < 8; h += 4 {
			rowStats4(wmean[h:h+4], wrstd[h:h+4], x[h*c:], c, 1e-5)
			gradMeans(wm1[h:h+4], wm2[h:h+4], x[h*c:], g, dy[h*c:], c, mean[h:h+4], rstd[h:h+4])
		}
		for i := range 8 {
			if !same64(mean[i], wmean[i]) || !same64(rstd[i], wrstd[i]) || !same64(m1[i], wm1[i]) || !same64(m2[i], wm2[i]) {
				t.Fatalf("c %d, row %d: mean, rstd, m1, m2 = %v %v %v %v; the Go loops give %v %v %v %v",
					c, i, mean[i], rstd[i], m1[i], m2[i], wmean[i], wrstd[i], wm1[i], wm2[i])
			}
		}
	}
}

// same64 reports whether a and b are the same float64 (any NaN matches any NaN).
func same64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}
