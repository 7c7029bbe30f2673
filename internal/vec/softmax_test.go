package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Exp32 against math.Exp over the float32 range: within 1 ulp (the worst case is
// printed with -v), and the saturations and NaN.
func TestExp32Accuracy(t *testing.T) {
	worst, at := 0.0, float32(0)
	for _, x := range sweep() {
		if x != x || x > expMax || x < expMin {
			continue
		}
		if u := ulps(Exp32(x), math.Exp(float64(x))); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("Exp32: worst %.2f ulp at %v", worst, at)
	if worst > 1 {
		t.Fatalf("Exp32 is off by %.2f ulp at %v", worst, at)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {100, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("Exp32(%v) = %v; want %v", c.x, got, c.want)
		}
	}
	if e := Exp32(float32(math.NaN())); e == e {
		t.Errorf("Exp32(NaN) = %v", e)
	}
	if e := Exp32(88.7); math.IsInf(float64(e), 0) || ulps(e, math.Exp(float64(float32(88.7)))) > 1 {
		t.Errorf("Exp32(88.7) = %v; want %v", e, math.Exp(float64(float32(88.7))))
	}
}

// ExpShiftF32, MaxF32 and ScaleF32 (at each form that runs here) give exactly the Go
// code's results, at every length.
func TestSoftmaxPartsBitIdentical(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		xs := sweep()
		got := make([]float32, len(xs))
		for _, shift := range []float32{0, 1.5, -3, 80} {
			ExpShiftF32(got, xs, shift)
			for i, x := range xs {
				if want := Exp32(x - shift); !same(got[i], want) {
					t.Fatalf("ExpShiftF32 at %v − %v: %v (%#x); the Go code gives %v (%#x)", x, shift, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
				}
			}
		}
		for _, s := range []float64{1, 1.0 / 3, 1e-30, 1e30} {
			copy(got, xs)
			ScaleF32(got, s)
			for i, x := range xs {
				if want := float32(float64(x) * s); !same(got[i], want) {
					t.Fatalf("ScaleF32(%v, %v) = %v; want %v", x, s, got[i], want)
				}
			}
		}
		rng := rand.New(rand.NewPCG(7, 8))
		nan, inf := float32(math.NaN()), float32(math.Inf(1))
		for n := 0; n <= 70; n++ {
			for range 20 {
				x := make([]float32, n)
				for i := range x {
					switch rng.IntN(12) {
					case 0:
						x[i] = nan
					case 1:
						x[i] = -inf
					case 2:
						x[i] = inf
					default:
						x[i] = float32(rng.NormFloat64() * 10)
					}
				}
				want := float32(math.Inf(-1))
				for _, v := range x {
					if v > want {
						want = v
					}
				}
				if got := MaxF32(x); got != want {
					t.Fatalf("MaxF32(%v) = %v; want %v", x, got, want)
				}
			}
		}
	})
}

// softmaxRef is graph's softmax row over the unblocked keys [0, n) written the
// straightforward way: max in float64, Exp32 of the shifted keys, sum in float64.
func softmaxRef(dst, src []float32, n int) {
	mx := math.Inf(-1)
	for _, v := range src[:n] {
		if float64(v) > mx {
			mx = float64(v)
		}
	}
	if math.IsInf(mx, -1) {
		clear(dst)
		return
	}
	var sum float64
	for j := range src {
		if j >= n {
			dst[j] = 0
			continue
		}
		e := Exp32(src[j] - float32(mx))
		dst[j] = e
		sum += float64(e)
	}
	inv := 1 / sum
	for j := range dst {
		dst[j] = float32(float64(dst[j]) * inv)
	}
}

// SoftmaxF32 equals softmaxRef bit for bit (rows of every length and horizon, large
// logits, −Inf, NaN, all blocked, in place), and is within (4e-7 + |x − m|·2⁻²⁴)
// relative of the float64 softmax on finite rows, the second term being the rounding
// of the float32 difference x − m to the row's maximum m.
func TestSoftmaxF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		worst := 0.0
		for k := 1; k <= 80; k++ {
			for trial := range 12 {
				src := make([]float32, k)
				for i := range src {
					src[i] = float32(rng.NormFloat64() * []float64{1, 10, 1e4}[trial%3])
				}
				if trial == 9 {
					src[rng.IntN(k)] = float32(math.Inf(-1))
				}
				if trial == 10 {
					src[rng.IntN(k)] = float32(math.NaN())
				}
				n := rng.IntN(k + 1)
				if trial == 11 {
					n = k
					for i := range src {
						src[i] = float32(math.Inf(-1))
					}
				}
				want, got := make([]float32, k), make([]float32, k)
				softmaxRef(want, src, n)
				SoftmaxF32(got, src, n)
				inPlace := append([]float32(nil), src...)
				SoftmaxF32(inPlace, inPlace, n)
				for j := range want {
					if !same(got[j], want[j]) || !same(inPlace[j], want[j]) {
						t.Fatalf("k = %d, n = %d, src %v: SoftmaxF32 %v (in place %v); want %v", k, n, src, got, inPlace, want)
					}
				}
				if trial >= 9 || n == 0 {
					continue
				}
				mx := math.Inf(-1)
				for _, v := range src[:n] {
					mx = math.Max(mx, float64(v))
				}
				var sum float64
				for _, v := range src[:n] {
					sum += math.Exp(float64(v) - mx)
				}
				for j, v := range src[:n] {
					p := math.Exp(float64(v)-mx) / sum
					if p > 1e-30 {
						worst = math.Max(worst, math.Abs(float64(got[j])-p)/p/(4e-7+math.Abs(float64(v)-mx)*0x1p-24))
					}
				}
			}
		}
		t.Logf("SoftmaxF32: worst relative error %.3g of the bound", worst)
		if worst > 1 {
			t.Fatalf("SoftmaxF32 is off by %.3g times the bound", worst)
		}
	})
}

func BenchmarkSoftmaxF32(b *testing.B) {
	src := benchInput(64)
	dst := make([]float32, len(src))
	for b.Loop() {
		SoftmaxF32(dst, src, 48)
	}
}

func BenchmarkSoftmaxF32Go(b *testing.B) {
	src := benchInput(64)
	dst := make([]float32, len(src))
	for b.Loop() {
		softmaxRef(dst, src, 48)
	}
}

// ExpShiftF32 at every length: exactly Exp32 of each element, nothing written past dst
// (the assembly masks the last partial block).
func TestExpShiftLengths(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			src := make([]float32, n+3)
			for i := range src {
				src[i] = float32(i)/3 - 5
			}
			dst := make([]float32, n+3)
			for i := range dst {
				dst[i] = -7
			}
			ExpShiftF32(dst[1:n+1], src[1:n+1], 0.5)
			if dst[0] != -7 || dst[n+1] != -7 || dst[n+2] != -7 {
				t.Fatalf("n = %d: ExpShiftF32 wrote outside dst: %v", n, dst)
			}
			for i := 1; i <= n; i++ {
				if want := Exp32(src[i] - 0.5); dst[i] != want {
					t.Fatalf("n = %d: ExpShiftF32[%d] = %v; want %v", n, i-1, dst[i], want)
				}
			}
		}
	})
}

// SoftmaxGradF32 gives exactly the one-row-at-a-time loop's results (graph's
// softmaxGradRow), for row counts around the groups of 4 and widths around the blocks of
// 8, zeros included.
func TestSoftmaxGradF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, k := range []int{1, 5, 8, 9, 16, 64, 65} {
			for _, rows := range []int{1, 3, 4, 5, 9} {
				p, g := make([]float32, rows*k), make([]float32, rows*k)
				for i := range p {
					if rng.IntN(4) > 0 {
						p[i] = float32(rng.Float64())
					}
					g[i] = float32(rng.NormFloat64())
				}
				if len(p) > 2 {
					p[1] = float32(math.Copysign(0, -1))
				}
				dx := make([]float32, rows*k)
				SoftmaxGradF32(dx, p, g, k)
				for r := range rows {
					var dot float64
					for j := range k {
						dot += float64(float64(g[r*k+j]) * float64(p[r*k+j]))
					}
					d := float32(dot)
					for j := range k {
						want := float32(0)
						if pj := p[r*k+j]; pj != 0 {
							want = pj * (g[r*k+j] - d)
						}
						if got := dx[r*k+j]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("k %d, rows %d: dx[%d][%d] = %v; want %v", k, rows, r, j, got, want)
						}
					}
				}
			}
		}
	})
}
