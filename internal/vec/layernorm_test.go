package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lnRef is LayerNorm and its gradients one row at a time, the plain way (graph's
// generic loops), each product rounded explicitly so no compiler fuses it.
type lnRef struct{ mean, rstd []float64 }

func newLNRef(x []float32, c int, eps float64) lnRef {
	var s lnRef
	for r := 0; r < len(x)/c; r++ {
		var m float64
		for _, v := range x[r*c : (r+1)*c] {
			m += float64(v)
		}
		m /= float64(c)
		var vr float64
		for _, v := range x[r*c : (r+1)*c] {
			d := float64(v) - m
			vr += float64(d * d)
		}
		vr /= float64(c)
		s.mean, s.rstd = append(s.mean, m), append(s.rstd, 1/math.Sqrt(vr+eps))
	}
	return s
}

// LayerNormF32, LayerNormGradXF32 and LayerNormGradGainF32 give exactly the plain
// loops' results, for row counts around the groups of 4 and 8 and widths around the blocks
// of 4 lanes, with and without bias.
func TestLayerNormBitIdentical(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		const eps = 1e-5
		for _, c := range []int{1, 3, 4, 5, 8, 12, 13, 128} {
			for _, rows := range []int{1, 3, 4, 5, 8, 11, 16, 19} {
				n := rows * c
				x, dy := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64()*2 + 0.5)
					dy[i] = float32(rng.NormFloat64())
				}
				g, b := make([]float32, c), make([]float32, c)
				for j := range g {
					g[j], b[j] = float32(1+rng.NormFloat64()/4), float32(rng.NormFloat64()/4)
				}
				s := newLNRef(x, c, eps)
				mean, rstd := make([]float64, rows), make([]float64, rows)
				for _, bias := range [][]float32{nil, b} {
					y := make([]float32, n)
					LayerNormF32(y, x, g, bias, c, eps, mean, rstd)
					for r := range rows {
						if math.Float64bits(mean[r]) != math.Float64bits(s.mean[r]) || math.Float64bits(rstd[r]) != math.Float64bits(s.rstd[r]) {
							t.Fatalf("c %d, rows %d: row %d's statistics %v, %v; want %v, %v", c, rows, r, mean[r], rstd[r], s.mean[r], s.rstd[r])
						}
					}
					for r := range rows {
						for j := range c {
							o := float64(float64((float64(x[r*c+j])-s.mean[r])*s.rstd[r]) * float64(g[j]))
							if bias != nil {
								o += float64(bias[j])
							}
							if y[r*c+j] != float32(o) {
								t.Fatalf("c %d, rows %d, bias %v: y[%d][%d] = %v; want %v", c, rows, bias != nil, r, j, y[r*c+j], float32(o))
							}
						}
					}
				}
				dx := make([]float32, n)
				LayerNormGradXF32(dx, x, g, dy, c, mean, rstd)
				acc := make([]float64, c)
				acc[0] = 0.5 // it adds
				LayerNormGradGainF32(acc, x, dy, c, 0, mean, rstd)
				// The same sums taken in column parts of 3, 8 and 37 (the last one
				// shorter), each at its own offset.
				parts := map[int][]float64{}
				for _, w := range []int{3, 8, 37} {
					p := make([]float64, c)
					p[0] = 0.5
					for lo := 0; lo < c; lo += w {
						LayerNormGradGainF32(p[lo:min(lo+w, c)], x, dy, c, lo, mean, rstd)
					}
					parts[w] = p
				}
				wantAcc := make([]float64, c)
				wantAcc[0] = 0.5
				for r := range rows {
					var m1, m2 float64
					for j := range c {
						dh := float64(dy[r*c+j]) * float64(g[j])
						m1 += dh
						m2 += float64(float64(dh*(float64(x[r*c+j])-s.mean[r])) * s.rstd[r])
					}
					m1 /= float64(c)
					m2 /= float64(c)
					for j := range c {
						xh := (float64(x[r*c+j]) - s.mean[r]) * s.rstd[r]
						want := float32(s.rstd[r] * (float64(float64(dy[r*c+j])*float64(g[j])) - m1 - float64(xh*m2)))
						if dx[r*c+j] != want {
							t.Fatalf("c %d, rows %d: dx[%d][%d] = %v; want %v", c, rows, r, j, dx[r*c+j], want)
						}
						wantAcc[j] += float64(float64(float64(dy[r*c+j])*(float64(x[r*c+j])-s.mean[r])) * s.rstd[r])
					}
				}
				for j := range c {
					if acc[j] != wantAcc[j] {
						t.Fatalf("c %d, rows %d: gain gradient [%d] = %v; want %v", c, rows, j, acc[j], wantAcc[j])
					}
					for w, p := range parts {
						if p[j] != wantAcc[j] {
							t.Fatalf("c %d, rows %d, parts of %d: gain gradient [%d] = %v; want %v", c, rows, w, j, p[j], wantAcc[j])
						}
					}
				}
			}
		}
	})
}

// LayerNormF32's rows have mean ≈ 0 and variance ≈ 1 (unit gain, no bias): the
// kernels compute a LayerNorm, not just the reference's arithmetic.
func TestLayerNormNormalises(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		const c, rows = 64, 6
		x, y, g := make([]float32, c*rows), make([]float32, c*rows), make([]float32, c)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*5 + 3)
		}
		for j := range g {
			g[j] = 1
		}
		LayerNormF32(y, x, g, nil, c, 1e-5, make([]float64, rows), make([]float64, rows))
		for r := range rows {
			var m, v float64
			for _, e := range y[r*c : (r+1)*c] {
				m += float64(e) / c
			}
			for _, e := range y[r*c : (r+1)*c] {
				v += (float64(e) - m) * (float64(e) - m) / c
			}
			if math.Abs(m) > 1e-6 || math.Abs(v-1) > 1e-5 {
				t.Fatalf("row %d: mean %v, variance %v; want 0 and 1", r, m, v)
			}
		}
	})
}

func BenchmarkLayerNormF32(b *testing.B) {
	const c, rows = 128, 768
	x, y, g := benchInput(c*rows), make([]float32, c*rows), benchInput(c)
	mean, rstd := make([]float64, rows), make([]float64, rows)
	for b.Loop() {
		LayerNormF32(y, x, g, g, c, 1e-5, mean, rstd)
	}
}

func BenchmarkLayerNormGradXF32(b *testing.B) {
	const c, rows = 128, 768
	x, dx, dy, g := benchInput(c*rows), make([]float32, c*rows), benchInput(c*rows), benchInput(c)
	mean, rstd := make([]float64, rows), make([]float64, rows)
	LayerNormF32(dx, x, g, nil, c, 1e-5, mean, rstd)
	for b.Loop() {
		LayerNormGradXF32(dx, x, g, dy, c, mean, rstd)
	}
}
