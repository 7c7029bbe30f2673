package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The float32 softmax row without mask or padding (internal/vec's kernels) gives
// exactly what the general loop gives for the same row with an all-zero mask.
func TestSoftmaxRowFloat32FastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for k := 1; k <= 70; k++ {
		for trial := range 8 {
			s := make([]float32, k)
			for i := range s {
				s[i] = float32(rng.NormFloat64() * []float64{1, 30, 1e4, 3}[trial%4])
			}
			if trial == 7 {
				s[rng.IntN(k)] = float32(math.Inf(-1))
			}
			limit := rng.IntN(k + 1)
			fast, slow := make([]float32, k), make([]float32, k)
			softmaxRow(fast, s, rowMask[float32]{limit: limit})
			softmaxRow(slow, s, rowMask[float32]{limit: limit, mask: make([]float32, k)})
			for j := range fast {
				if math.Float32bits(fast[j]) != math.Float32bits(slow[j]) {
					t.Fatalf("k = %d, limit = %d, s = %v: fast path %v; general loop %v", k, limit, s, fast, slow)
				}
			}
		}
	}
}

// The float32 softmax gradient (internal/vec's kernels, rows in parts) gives exactly
// softmaxGradRow's result row by row.
func TestSoftmaxGradFloat32FastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, k := range []int{1, 7, 64, 65} {
		for _, rows := range []int{1, 5, 16, 37} {
			y, g := make([]float32, rows*k), make([]float32, rows*k)
			for i := range y {
				if rng.IntN(3) > 0 {
					y[i] = float32(rng.Float64())
				}
				g[i] = float32(rng.NormFloat64())
			}
			fast, slow := make([]float32, rows*k), make([]float32, rows*k)
			softmaxGradRows(fast, y, g, k, false)
			for r := range rows {
				softmaxGradRow(slow[r*k:(r+1)*k], y[r*k:(r+1)*k], g[r*k:(r+1)*k])
			}
			for i := range fast {
				if math.Float32bits(fast[i]) != math.Float32bits(slow[i]) {
					t.Fatalf("k %d, rows %d: element %d: %v; softmaxGradRow gives %v", k, rows, i, fast[i], slow[i])
				}
			}
		}
	}
}
