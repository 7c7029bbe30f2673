package vec

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// sweep returns float32 inputs (made once, shared by the tests: callers must not
// change it) for the kernels: every 2053rd bit pattern (all signs,
// exponents and a spread of mantissas, NaNs and infinities included), a dense grid on
// [−10, 10], the special values and the kernels' branch points, and random points.
var sweep = sync.OnceValue(func() []float32 {
	var xs []float32
	for b := uint64(0); b < 1<<32; b += 2053 {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for x := -10.0; x <= 10; x += 1.0 / 4096 {
		xs = append(xs, float32(x))
	}
	for _, x := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		0.25, -0.25, 4 * math.Sqrt2, -4 * math.Sqrt2, math.Sqrt(2 * 87.33654), 13.2, 1e-45, -1e-45,
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32} {
		f := float32(x)
		xs = append(xs, f, math.Nextafter32(f, 1e30), math.Nextafter32(f, -1e30))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 16 {
		xs = append(xs, float32(rng.NormFloat64()*3))
	}
	return xs
})

// same reports whether a and b are the same float32 (any NaN matches any NaN).
func same(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// The vector kernels (at each form that runs here) give exactly the Go code's results.
func TestGeluBitIdentical(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		xs := sweep()
		y := make([]float32, len(xs))
		GeluF32(y, xs)
		for i, x := range xs {
			if want := geluOne(x); !same(y[i], want) {
				t.Fatalf("GeluF32(%v) = %v (%#x); the Go code gives %v (%#x)", x, y[i], math.Float32bits(y[i]), want, math.Float32bits(want))
			}
		}
		rng := rand.New(rand.NewPCG(3, 4))
		dy := make([]float32, len(xs))
		for i := range dy {
			dy[i] = float32(rng.NormFloat64())
		}
		dx := make([]float32, len(xs))
		GeluGradF32(dx, xs, y, dy)
		for i, x := range xs {
			if want := geluGradOne(x, y[i], dy[i]); !same(dx[i], want) {
				t.Fatalf("GeluGradF32 at x = %v, dy = %v: %v (%#x); the Go code gives %v (%#x)", x, dy[i], dx[i], math.Float32bits(dx[i]), want, math.Float32bits(want))
			}
		}
	})
}

// Every length works, the tails after the last block of 8 included, and the kernels
// read and write nothing outside the slices they are given.
func TestGeluLengths(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			buf := make([]float32, n+2)
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(i)/4 - 3
			}
			GeluF32(buf[1:n+1], xs)
			if buf[0] != 0 || buf[n+1] != 0 {
				t.Fatalf("n = %d: GeluF32 wrote outside dst", n)
			}
			for i, x := range xs {
				if buf[i+1] != geluOne(x) {
					t.Fatalf("n = %d: GeluF32(%v) = %v; want %v", n, x, buf[i+1], geluOne(x))
				}
			}
			ys, dy := buf[1:n+1], make([]float32, n)
			for i := range dy {
				dy[i] = 1
			}
			dx := make([]float32, n+2)
			GeluGradF32(dx[1:n+1], xs, ys, dy)
			if dx[0] != 0 || dx[n+1] != 0 {
				t.Fatalf("n = %d: GeluGradF32 wrote outside dx", n)
			}
			for i, x := range xs {
				if want := geluGradOne(x, ys[i], 1); dx[i+1] != want {
					t.Fatalf("n = %d: GeluGradF32 at %v = %v; want %v", n, x, dx[i+1], want)
				}
			}
		}
	})
}

// ulps is |got − want| in units of the float32 spacing at want (the spacing of the
// smallest normal below it).
func ulps(got float32, want float64) float64 {
	w := float32(want)
	a := math.Abs(float64(w))
	spacing := math.Max(float64(math.Nextafter32(float32(a), float32(math.Inf(1)))-float32(a)), 1.4e-45*(1<<23))
	return math.Abs(float64(got)-want) / spacing
}

// Erf32 against math.Erf on the sweep: within 5e-7 absolute (the worst over every
// float32, from a one-off exhaustive run, is 4.7e-7 near ±3.27) and 8 ulps where
// |erf| ≥ 1e-37 (the worst cases are printed with -v); odd, saturating, NaN for NaN.
func TestErf32Accuracy(t *testing.T) {
	worstAbs, worstUlp, atAbs, atUlp := 0.0, 0.0, float32(0), float32(0)
	for _, x := range sweep() {
		if x != x {
			if e := Erf32(x); e == e {
				t.Fatalf("Erf32(NaN) = %v", e)
			}
			continue
		}
		got, want := Erf32(x), math.Erf(float64(x))
		if e := math.Abs(float64(got) - want); e > worstAbs {
			worstAbs, atAbs = e, x
		}
		if math.Abs(want) >= 1e-37 {
			if u := ulps(got, want); u > worstUlp {
				worstUlp, atUlp = u, x
			}
		}
		if Erf32(-x) != -got {
			t.Fatalf("Erf32(%v) = %v but Erf32(%v) = %v", x, got, -x, Erf32(-x))
		}
	}
	t.Logf("Erf32: worst %.3g absolute at %v, %.2f ulp at %v", worstAbs, atAbs, worstUlp, atUlp)
	if worstAbs > 5e-7 || worstUlp > 8 {
		t.Fatalf("Erf32 is off by %.3g at %v, %.2f ulp at %v", worstAbs, atAbs, worstUlp, atUlp)
	}
	if Erf32(float32(math.Inf(1))) != 1 || Erf32(float32(math.Inf(-1))) != -1 || Erf32(5) != 1 {
		t.Fatalf("Erf32 does not saturate to ±1: %v %v %v", Erf32(float32(math.Inf(1))), Erf32(float32(math.Inf(-1))), Erf32(5))
	}
}

// ExpNegHalfSq32 against math.Exp(−x²/2) with x² in float64: within 2 ulps of the
// exponential of its float32 argument −v²/2, plus the rounding of that argument
// (|−v²/2|·2⁻²⁴ relative); 0 below the smallest normal float32.
func TestExpNegHalfSq32Accuracy(t *testing.T) {
	worst, at := 0.0, float32(0)
	for _, v := range sweep() {
		if v != v {
			continue
		}
		got := ExpNegHalfSq32(v)
		arg := float64(float32(-0.5 * v * v))
		want := math.Exp(arg)
		if want < 0x1p-126 {
			if got != 0 && ulps(got, want) > 2 {
				t.Fatalf("ExpNegHalfSq32(%v) = %v; want 0 or ≈ %v", v, got, want)
			}
			continue
		}
		if u := ulps(got, want); u > worst {
			worst, at = u, v
		}
		exact := math.Exp(-0.5 * float64(v) * float64(v))
		if rel := math.Abs(float64(got)-exact) / exact; rel > 2.4e-7+math.Abs(arg)*0x1p-24 {
			t.Fatalf("ExpNegHalfSq32(%v) = %v; want %v (relative error %.3g)", v, got, exact, rel)
		}
	}
	t.Logf("ExpNegHalfSq32: worst %.2f ulp (of exp of its float32 argument) at %v", worst, at)
	if worst > 2 {
		t.Fatalf("ExpNegHalfSq32 is off by %.2f ulp at %v", worst, at)
	}
}

// GeluF32 and GeluGradF32 against float64 math: the forward within 2.5e-7·max(1, |x|)
// absolute and the gradient within 1.5e-7·(1+|x|) absolute on [−10, 10] (dy = 1).
func TestGeluAccuracy(t *testing.T) {
	var xs []float32
	for x := -10.0; x <= 10; x += 1.0 / 8192 {
		xs = append(xs, float32(x))
	}
	y, dx, ones := make([]float32, len(xs)), make([]float32, len(xs)), make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	GeluF32(y, xs)
	GeluGradF32(dx, xs, y, ones)
	worstY, worstD, atY, atD := 0.0, 0.0, float32(0), float32(0)
	for i, x := range xs {
		v := float64(x)
		cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
		if e := math.Abs(float64(y[i])-v*cdf) / math.Max(1, math.Abs(v)); e > worstY {
			worstY, atY = e, x
		}
		grad := cdf + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
		if e := math.Abs(float64(dx[i])-grad) / (1 + math.Abs(v)); e > worstD {
			worstD, atD = e, x
		}
	}
	t.Logf("GeluF32: worst %.3g·max(1,|x|) at %v; GeluGradF32: worst %.3g·(1+|x|) at %v", worstY, atY, worstD, atD)
	if worstY > 2.5e-7 || worstD > 1.5e-7 {
		t.Fatalf("GELU off: forward %.3g at %v, gradient %.3g at %v", worstY, atY, worstD, atD)
	}
}

func benchInput(n int) []float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	return xs
}

// geluBench is the GELU benchmarks' setup: 4096 inputs xs, y = GELU(xs), a buffer dx
// for the gradient, and the bytes of xs as what one loop processes.
func geluBench(b *testing.B) (xs, y, dx []float32) {
	xs = benchInput(4096)
	y, dx = make([]float32, len(xs)), make([]float32, len(xs))
	GeluF32(y, xs)
	b.SetBytes(int64(4 * len(xs)))
	return xs, y, dx
}

func BenchmarkGeluF32(b *testing.B) {
	xs, y, _ := geluBench(b)
	for b.Loop() {
		GeluF32(y, xs)
	}
}

func BenchmarkGeluGradF32(b *testing.B) {
	xs, y, dx := geluBench(b)
	for b.Loop() {
		GeluGradF32(dx, xs, y, xs)
	}
}

// The Go loops, for comparison with the assembly.
func BenchmarkGeluF32Go(b *testing.B) {
	xs, y, _ := geluBench(b)
	for b.Loop() {
		for i, x := range xs {
			y[i] = geluOne(x)
		}
	}
}

func BenchmarkGeluGradF32Go(b *testing.B) {
	xs, y, dx := geluBench(b)
	for b.Loop() {
		for i, x := range xs {
			dx[i] = geluGradOne(x, y[i], xs[i])
		}
	}
}

// AddF32 adds, at every length, in place too.
func TestAddF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		for n := 0; n <= 80; n++ {
			a, b := benchInput(n), benchInput(n + 1)[1:]
			dst := make([]float32, n+1)
			AddF32(dst[:n], a, b)
			for i := range a {
				if dst[i] != a[i]+b[i] {
					t.Fatalf("n %d: AddF32[%d] = %v; want %v", n, i, dst[i], a[i]+b[i])
				}
			}
			if dst[n] != 0 {
				t.Fatalf("n %d: AddF32 wrote past dst", n)
			}
			want := make([]float32, n)
			for i := range a {
				want[i] = a[i] + b[i]
			}
			AddF32(a, a, b)
			for i := range a {
				if a[i] != want[i] {
					t.Fatalf("n %d: AddF32 in place [%d] = %v; want %v", n, i, a[i], want[i])
				}
			}
		}
	})
}

// ExpShiftSumF32 writes ExpShiftF32's exponentials and returns their float64 sum in
// order, bit for bit, at every form.
func TestExpShiftSumF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for n := 0; n <= 70; n++ {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 4)
			}
			want := make([]float32, n)
			ExpShiftF32(want, src, 1.5)
			var wsum float64
			for _, e := range want {
				wsum += float64(e)
			}
			got := make([]float32, n)
			sum := ExpShiftSumF32(got, src, 1.5)
			if math.Float64bits(sum) != math.Float64bits(wsum) {
				t.Fatalf("n=%d: sum %v, want %v", n, sum, wsum)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
		}
	})
}
