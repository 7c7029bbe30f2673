package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// edges are inputs where the kernels branch, saturate or lose precision: signed
// zeros, infinities, NaN, subnormals, the extremes, GELU's ±0.25 and erf's ±4√2,
// exp's flush and overflow points.
var edges = func() []float32 {
	var xs []float32
	for _, x := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		1e-45, -1e-45, 1e-40, -1e-40, math.MaxFloat32, -math.MaxFloat32, 0x1p-126, -0x1p-126,
		0.25, -0.25, 4 * math.Sqrt2, -4 * math.Sqrt2, expMin, expMax, 88.7, -87.3, 13.2, -13.2, 1e20, -1e20} {
		f := float32(x)
		xs = append(xs, f, math.Nextafter32(f, 1e30), math.Nextafter32(f, -1e30))
	}
	return xs
}()

// mixed returns n inputs: edge values a quarter of the time, else normal samples of a
// random scale.
func mixed(rng *rand.Rand, n int) []float32 {
	xs := make([]float32, n)
	for i := range xs {
		if rng.IntN(4) == 0 {
			xs[i] = edges[rng.IntN(len(edges))]
		} else {
			xs[i] = float32(rng.NormFloat64() * []float64{0.1, 1, 10, 100}[rng.IntN(4)])
		}
	}
	return xs
}

// guarded returns a slice of n elements inside a buffer whose one element either side
// holds a sentinel, and a check that the sentinels are untouched.
func guarded(n int) (s []float32, untouched func() bool) {
	const sentinel = -12345.5
	buf := make([]float32, n+2)
	buf[0], buf[n+1] = sentinel, sentinel
	return buf[1 : n+1], func() bool { return buf[0] == sentinel && buf[n+1] == sentinel }
}

// lengthTrials is how many random inputs each length gets.
const lengthTrials = 8

// Every kernel, at every form that runs here and every length 0…70 (the masked and
// Go tails of every width), gives bit for bit the Go reference's results on inputs with
// edge values, and writes nothing outside its destination.
func TestKernelsAllLengths(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for n := 0; n <= 70; n++ {
			for range lengthTrials {
				checkElementwise(t, rng, n)
				checkRows(t, rng, n)
			}
		}
	})
}

func checkElementwise(t *testing.T, rng *rand.Rand, n int) {
	t.Helper()
	x, y, dy := mixed(rng, n), mixed(rng, n), mixed(rng, n)
	for i := range y {
		if rng.IntN(2) == 0 {
			y[i] = geluOne(x[i]) // the gradient's usual input
		}
	}
	dst, ok := guarded(n)
	GeluF32(dst, x)
	for i := range x {
		if want := geluOne(x[i]); !same(dst[i], want) {
			t.Fatalf("n %d: GeluF32(%v) = %v; the Go code gives %v", n, x[i], dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: GeluF32 wrote outside dst", n)
	}

	dst, ok = guarded(n)
	GeluGradF32(dst, x, y, dy)
	for i := range x {
		if want := geluGradOne(x[i], y[i], dy[i]); !same(dst[i], want) {
			t.Fatalf("n %d: GeluGradF32 at x %v, y %v, dy %v = %v; the Go code gives %v", n, x[i], y[i], dy[i], dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: GeluGradF32 wrote outside dx", n)
	}

	// MaxF32 is compared by value: which of +0 and −0 it returns for a maximum of zero is
	// not specified.
	want := float32(math.Inf(-1))
	for _, v := range x {
		if v > want {
			want = v
		}
	}
	if got := MaxF32(x); got != want {
		t.Fatalf("n %d: MaxF32(%v) = %v; want %v", n, x, got, want)
	}

	shift := edges[rng.IntN(len(edges))]
	if rng.IntN(2) == 0 {
		shift = float32(rng.NormFloat64() * 10)
	}
	dst, ok = guarded(n)
	ExpShiftF32(dst, x, shift)
	for i := range x {
		if want := Exp32(x[i] - shift); !same(dst[i], want) {
			t.Fatalf("n %d: ExpShiftF32 at %v − %v = %v; the Go code gives %v", n, x[i], shift, dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: ExpShiftF32 wrote outside dst", n)
	}

	s := []float64{1.0 / 3, 1e-30, 1e30, -7.25, math.Inf(1), 0}[rng.IntN(6)]
	dst, ok = guarded(n)
	copy(dst, x)
	ScaleF32(dst, s)
	for i := range x {
		if want := float32(float64(x[i]) * s); !same(dst[i], want) {
			t.Fatalf("n %d: ScaleF32(%v, %v) = %v; want %v", n, x[i], s, dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: ScaleF32 wrote outside x", n)
	}

	dst, ok = guarded(n)
	AddF32(dst, x, y)
	for i := range x {
		if want := x[i] + y[i]; !same(dst[i], want) {
			t.Fatalf("n %d: AddF32(%v, %v) = %v; want %v", n, x[i], y[i], dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: AddF32 wrote outside dst", n)
	}

	p := mixed(rng, n)
	for i := range p {
		if rng.IntN(3) == 0 {
			p[i] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1))) // blocked keys
		}
	}
	dd := mixed(rng, 1)[0]
	dst, ok = guarded(n)
	softmaxGradRow(dst, p, dy, dd)
	for i := range p {
		want := float32(0)
		if p[i] != 0 {
			want = p[i] * (dy[i] - dd)
		}
		if math.Float32bits(dst[i]) != math.Float32bits(want) && !(dst[i] != dst[i] && want != want) {
			t.Fatalf("n %d: softmaxGradRow at p %v, g %v, d %v = %v; want %v", n, p[i], dy[i], dd, dst[i], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: softmaxGradRow wrote outside dx", n)
	}

	for _, k := range []AdamW{
		{Decay: 0.9999, Beta1: 0.9, Beta2: 0.99, StepSize: 1e-3, Bc2Sqrt: 0.1, Eps: 1e-8},
		{Decay: 1, Beta1: 0.3, Beta2: 0.5, StepSize: 0.1, Bc2Sqrt: 0.7, Eps: 1e-6},
	} {
		pp, pok := guarded(n)
		g, gok := guarded(n)
		m, mok := guarded(n)
		v, vok := guarded(n)
		copy(pp, x)
		copy(g, dy)
		copy(m, y)
		for i := range v {
			v[i] = float32(math.Abs(float64(p[i]))) // v ≥ 0 (or NaN)
		}
		p0, g0, m0, v0 := clone(pp), clone(g), clone(m), clone(v)
		AdamWF32(pp, g, m, v, k)
		w := 1 - k.Beta1
		c := adamwConsts{k.Decay, w, 1 - w, k.Beta2, 1 - k.Beta2, k.Bc2Sqrt, k.Eps, k.StepSize}
		for i := range pp {
			wp, wm, wv := adamwOne(&c, w < 0.5, p0[i], g0[i], m0[i], v0[i])
			if !same(pp[i], wp) || !same(m[i], wm) || !same(v[i], wv) || math.Float32bits(g[i]) != 0 {
				t.Fatalf("β1 %v, n %d, element %d: p, m, v, g = %v %v %v %v; the Go code gives %v %v %v 0", k.Beta1, n, i, pp[i], m[i], v[i], g[i], wp, wm, wv)
			}
		}
		if !pok() || !gok() || !mok() || !vok() {
			t.Fatalf("β1 %v, n %d: AdamWF32 wrote outside its slices", k.Beta1, n)
		}
	}
}

// checkRows checks the LayerNorm row passes on a row of n elements.
func checkRows(t *testing.T, rng *rand.Rand, n int) {
	t.Helper()
	x, g, b, dy := mixed(rng, n), mixed(rng, n), mixed(rng, n), mixed(rng, n)
	mean, rstd := rng.NormFloat64(), math.Exp(rng.NormFloat64())
	m1, m2 := rng.NormFloat64(), rng.NormFloat64()
	for _, bias := range [][]float32{nil, b} {
		y, ok := guarded(n)
		layerNormRow(y, x, g, bias, mean, rstd)
		for j := range x {
			o := float64(float64((float64(x[j])-mean)*rstd) * float64(g[j]))
			if bias != nil {
				o += float64(bias[j])
			}
			if !same(y[j], float32(o)) {
				t.Fatalf("n %d, bias %v: layerNormRow[%d] = %v; want %v", n, bias != nil, j, y[j], float32(o))
			}
		}
		if !ok() {
			t.Fatalf("n %d: layerNormRow wrote outside y", n)
		}
	}
	dx, ok := guarded(n)
	layerNormGradRow(dx, x, g, dy, mean, rstd, m1, m2)
	for j := range x {
		xh := (float64(x[j]) - mean) * rstd
		want := float32(rstd * (float64(float64(dy[j])*float64(g[j])) - m1 - float64(xh*m2)))
		if !same(dx[j], want) {
			t.Fatalf("n %d: layerNormGradRow[%d] = %v; want %v", n, j, dx[j], want)
		}
	}
	if !ok() {
		t.Fatalf("n %d: layerNormGradRow wrote outside dx", n)
	}
	buf := make([]float64, n+2)
	acc := buf[1 : n+1]
	for j := range acc {
		acc[j] = rng.NormFloat64()
	}
	acc0 := append([]float64(nil), acc...)
	gainAcc(acc, x, dy, mean, rstd)
	for j := range acc {
		want := acc0[j] + float64(float64(float64(dy[j])*(float64(x[j])-mean))*rstd)
		if math.Float64bits(acc[j]) != math.Float64bits(want) && !(math.IsNaN(acc[j]) && math.IsNaN(want)) {
			t.Fatalf("n %d: gainAcc[%d] = %v; want %v", n, j, acc[j], want)
		}
	}
	if buf[0] != 0 || buf[n+1] != 0 {
		t.Fatalf("n %d: gainAcc wrote outside acc", n)
	}
}

// The LayerNorm kernels over whole rows — the row statistics and gradient means of 8
// rows at a time in the assembly — give exactly the plain loops' results at every width
// 1…70 and row counts around the blocks of 8, at every form that runs here.
func TestLayerNormAllWidths(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		const eps = 1e-5
		for c := 1; c <= 70; c++ {
			for _, rows := range []int{7, 8, 9, 16, 17} {
				n := rows * c
				x, dy := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64()*3 + 1)
					dy[i] = float32(rng.NormFloat64())
				}
				g := make([]float32, c)
				for j := range g {
					g[j] = float32(1 + rng.NormFloat64()/4)
				}
				s := newLNRef(x, c, eps)
				y := make([]float32, n)
				mean, rstd := make([]float64, rows), make([]float64, rows)
				LayerNormF32(y, x, g, nil, c, eps, mean, rstd)
				dx := make([]float32, n)
				LayerNormGradXF32(dx, x, g, dy, c, mean, rstd)
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
						i := r*c + j
						if want := float32(float64(float64((float64(x[i])-s.mean[r])*s.rstd[r]) * float64(g[j]))); y[i] != want {
							t.Fatalf("c %d, rows %d: y[%d][%d] = %v; want %v", c, rows, r, j, y[i], want)
						}
						xh := (float64(x[i]) - s.mean[r]) * s.rstd[r]
						if want := float32(s.rstd[r] * (float64(float64(dy[i])*float64(g[j])) - m1 - float64(xh*m2))); dx[i] != want {
							t.Fatalf("c %d, rows %d: dx[%d][%d] = %v; want %v", c, rows, r, j, dx[i], want)
						}
					}
				}
			}
		}
	})
}
