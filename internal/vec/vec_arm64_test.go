//go:build arm64 && !purego

package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withGo runs f with the NEON kernels off (the Go loops do every element).
func withGo(f func()) {
	useNEON = false
	defer func() { useNEON = true }()
	f()
}

// The bitwise tests again with the NEON kernels off, so one run on arm64 checks the
// Go loops on their own too.
func TestGoLoops(t *testing.T) {
	for name, f := range map[string]func(*testing.T){
		"Gelu": TestGeluBitIdentical, "GeluLengths": TestGeluLengths, "Add": TestAddF32,
		"SoftmaxParts": TestSoftmaxPartsBitIdentical, "ExpShiftLengths": TestExpShiftLengths,
		"Softmax": TestSoftmaxF32, "SoftmaxGrad": TestSoftmaxGradF32, "AdamW": TestAdamWF32,
		"LayerNorm": TestLayerNormBitIdentical,
	} {
		t.Run(name, func(t *testing.T) {
			useNEON = false
			defer func() { useNEON = true }()
			f(t)
		})
	}
}

// edgeValues are the float32 values the kernels treat specially or that IEEE
// arithmetic does: zeros, infinities, NaN, subnormals, the extremes, and the branch
// points of exp and of the GELU gradient.
var edgeValues = []float32{
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	1e-45, -1e-45, 3e-39, -3e-39, 0x1p-126, -0x1p-126, math.MaxFloat32, -math.MaxFloat32,
	0.25, -0.25, math.Nextafter32(0.25, 1), math.Nextafter32(-0.25, -1),
	expMax, math.Nextafter32(expMax, 100), expMin, math.Nextafter32(expMin, -100),
	4 * math.Sqrt2, -4 * math.Sqrt2, 13.2, -13.2, 1, -1, 0.5, 1e30, -1e30,
}

// edgeMix returns n values, each an edge value with probability 1/every, else normal
// with standard deviation 3.
func edgeMix(rng *rand.Rand, n, every int) []float32 {
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(every) == 0 {
			x[i] = edgeValues[rng.IntN(len(edgeValues))]
		} else {
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

// sameAll reports the first index where got and want are not the same float32 (any
// NaN matching any NaN), or −1.
func sameAll(got, want []float32) int {
	for i := range want {
		if !same(got[i], want[i]) {
			return i
		}
	}
	return -1
}

func same64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// Every kernel gives the Go loops' results bit for bit (NaN for NaN) on inputs full of
// edge values, at lengths around the blocks of 4 and 16 and past them.
func TestNEONMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	lengths := []int{0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 33, 40, 1027}
	for _, n := range lengths {
		x, y, z := edgeMix(rng, n, 3), edgeMix(rng, n, 3), edgeMix(rng, n, 3)
		check := func(what string, f func(dst []float32)) {
			got, want := make([]float32, n), make([]float32, n)
			f(got)
			withGo(func() { f(want) })
			if i := sameAll(got, want); i >= 0 {
				t.Fatalf("n %d: %s[%d] = %v (%#x); the Go loop gives %v (%#x)", n, what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
		check("AddF32", func(d []float32) { AddF32(d, x, y) })
		check("GeluF32", func(d []float32) { GeluF32(d, x) })
		check("GeluGradF32", func(d []float32) { GeluGradF32(d, x, y, z) })
		for _, s := range []float32{0, 2.5, -40, float32(math.Inf(1)), float32(math.NaN())} {
			check("ExpShiftF32", func(d []float32) { ExpShiftF32(d, x, s) })
		}
		for _, s := range []float64{0.3, 1e-40, 1e40, math.Inf(-1), math.NaN()} {
			check("ScaleF32", func(d []float32) { copy(d, x); ScaleF32(d, s) })
		}
		for _, h := range []int{n, n / 2} {
			check("SoftmaxF32", func(d []float32) { SoftmaxF32(d, x, h) })
		}
		for _, d := range []float32{0, float32(math.Copysign(0, -1)), 0.75, 1e-45, float32(math.Inf(-1)), float32(math.NaN())} {
			check("softmaxGradRow", func(dx []float32) { softmaxGradRow(dx, x, y, d) })
		}
		// MaxF32: equal as numbers (a zero maximum may come out as +0 where the Go loop
		// keeps the −0 it met first).
		if got, want := MaxF32(x), func() (m float32) { withGo(func() { m = MaxF32(x) }); return }(); got != want && (got == got || want == want) {
			t.Fatalf("n %d: MaxF32 = %v; the Go loop gives %v", n, got, want)
		}
		for _, beta1 := range []float64{0.9, 0.3} {
			k := AdamW{Decay: 0.999, Beta1: beta1, Beta2: 0.99, StepSize: 1e-3, Bc2Sqrt: 0.3, Eps: 1e-8}
			run := func() [4][]float32 {
				p, g, m, v := clone(x), clone(y), clone(z), clone(y)
				for i := range v {
					v[i] *= v[i]
				}
				AdamWF32(p, g, m, v, k)
				return [4][]float32{p, g, m, v}
			}
			got := run()
			var want [4][]float32
			withGo(func() { want = run() })
			for j := range got {
				if i := sameAll(got[j], want[j]); i >= 0 {
					t.Fatalf("n %d, β1 %v: AdamWF32 output %d [%d] = %v; the Go loop gives %v", n, beta1, j, i, got[j][i], want[j][i])
				}
			}
		}
	}
	for _, c := range []int{1, 4, 5, 8, 12, 64} {
		for _, rows := range []int{1, 7, 8, 9, 16, 17} {
			x, dy := edgeMix(rng, rows*c, 40), edgeMix(rng, rows*c, 40)
			g, b := edgeMix(rng, c, 20), edgeMix(rng, c, 20)
			run := func() (y, yb, dx []float32, acc []float64) {
				y, yb, dx, acc = make([]float32, rows*c), make([]float32, rows*c), make([]float32, rows*c), make([]float64, c)
				LayerNormF32(y, x, g, nil, c, 1e-5)
				LayerNormF32(yb, x, g, b, c, 1e-5)
				LayerNormGradXF32(dx, x, g, dy, c, 1e-5)
				LayerNormGradGainF32(acc, x, dy, c, 1e-5)
				return
			}
			y, yb, dx, acc := run()
			var wy, wyb, wdx []float32
			var wacc []float64
			withGo(func() { wy, wyb, wdx, wacc = run() })
			for _, o := range []struct {
				name      string
				got, want []float32
			}{{"LayerNormF32", y, wy}, {"LayerNormF32 (bias)", yb, wyb}, {"LayerNormGradXF32", dx, wdx}} {
				if i := sameAll(o.got, o.want); i >= 0 {
					t.Fatalf("c %d, rows %d: %s[%d] = %v; the Go loops give %v", c, rows, o.name, i, o.got[i], o.want[i])
				}
			}
			for j := range acc {
				if !same64(acc[j], wacc[j]) {
					t.Fatalf("c %d, rows %d: LayerNormGradGainF32[%d] = %v; the Go loops give %v", c, rows, j, acc[j], wacc[j])
				}
			}
		}
	}
}

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
