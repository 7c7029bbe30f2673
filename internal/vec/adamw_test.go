package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// AdamWF32 (at each form that runs here) gives exactly adamwOne's results at every
// length, for both forms of the first-moment update, zeroes the gradient, and agrees
// with the textbook formulas in float64.
func TestAdamWF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, k := range []AdamW{
			{Decay: 1 - 1e-3*0.1, Beta1: 0.9, Beta2: 0.99, StepSize: 1e-3 / (1 - math.Pow(0.9, 3)), Bc2Sqrt: math.Sqrt(1 - math.Pow(0.99, 3)), Eps: 1e-8},
			{Decay: 1, Beta1: 0.3, Beta2: 0.5, StepSize: 0.1, Bc2Sqrt: 0.7, Eps: 1e-6},
		} {
			for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 100, 4099} {
				p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range p {
					p[i] = float32(rng.NormFloat64())
					g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
					m[i] = float32(rng.NormFloat64() * 1e-2)
					v[i] = float32(rng.ExpFloat64() * 1e-4)
				}
				if n > 3 {
					v[3], m[3] = 0, 0 // a fresh moment
				}
				p0, g0, m0, v0 := clone(p), clone(g), clone(m), clone(v)
				AdamWF32(p, g, m, v, k)
				w := 1 - k.Beta1
				c := adamwConsts{k.Decay, w, 1 - w, k.Beta2, 1 - k.Beta2, k.Bc2Sqrt, k.Eps, k.StepSize}
				for i := range p {
					wp, wm, wv := adamwOne(&c, w < 0.5, p0[i], g0[i], m0[i], v0[i])
					if p[i] != wp || m[i] != wm || v[i] != wv || g[i] != 0 {
						t.Fatalf("β1 %v, n %d, element %d: p, m, v, g = %v %v %v %v; the Go code gives %v %v %v 0", k.Beta1, n, i, p[i], m[i], v[i], g[i], wp, wm, wv)
					}
					gi, mi, vi := float64(g0[i]), float64(m0[i]), float64(v0[i])
					em := k.Beta1*mi + (1-k.Beta1)*gi
					ev := k.Beta2*vi + (1-k.Beta2)*gi*gi
					ep := k.Decay*float64(p0[i]) - k.StepSize*em/(math.Sqrt(ev)/k.Bc2Sqrt+k.Eps)
					if !close32(m[i], em) || !close32(v[i], ev) || !close32(p[i], ep) {
						t.Fatalf("β1 %v, element %d: p, m, v = %v %v %v; the formulas give %v %v %v", k.Beta1, i, p[i], m[i], v[i], ep, em, ev)
					}
				}
			}
		}
	})
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

// close32 reports whether got is want rounded to float32, give or take 2 ulps (the
// formulas' float64 order differs from torch's lerp).
func close32(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 2*math.Abs(want)*0x1p-24+1e-45
}

func BenchmarkAdamWF32(b *testing.B) {
	n := 1 << 14
	p, g, m, v := benchInput(n), benchInput(n), benchInput(n), benchInput(n)
	for i := range v {
		v[i] *= v[i]
	}
	k := AdamW{Decay: 0.9999, Beta1: 0.9, Beta2: 0.99, StepSize: 1e-3, Bc2Sqrt: 0.1, Eps: 1e-8}
	for b.Loop() {
		AdamWF32(p, g, m, v, k)
	}
}
