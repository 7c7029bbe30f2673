package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// rowsInput returns n float32s, most normal with scale 3, one in five from the sweep
// (±0, ±Inf, NaN, subnormals, huge and tiny values).
func rowsInput(rng *rand.Rand, n int) []float32 {
	sw := sweep()
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(5) == 0 {
			x[i] = sw[rng.IntN(len(sw))]
		} else {
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

// SumRowsF32 equals the plain float64 loop (graph's sumRows before the kernels) bit for
// bit: widths around every panel and register size, row counts 0 to 33, a partial last
// row, edge values; and acc holds the float64 sums.
func TestSumRowsF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		widths := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40, 63, 64, 65, 127, 128, 129, 136, 200, 512}
		for _, c := range widths {
			for _, rows := range []int{0, 1, 2, 3, 7, 33} {
				x := rowsInput(rng, rows*c+c/2) // and half a row, ignored
				if rng.IntN(2) == 0 {           // half the cases finite, so the sums are too
					for i, v := range x {
						if math.IsInf(float64(v), 0) || v != v {
							x[i] = 1
						}
					}
				}
				want := make([]float64, c)
				for r := range rows {
					for j, v := range x[r*c : (r+1)*c] {
						want[j] += float64(v)
					}
				}
				dst := make([]float32, c+1)
				dst[c] = -7
				acc := make([]float64, c+1)
				for i := range acc {
					acc[i] = 5
				}
				SumRowsF32(dst, x, c, acc)
				if dst[c] != -7 || acc[c] != 5 {
					t.Fatalf("c = %d, rows = %d: wrote past c", c, rows)
				}
				for j := range c {
					if math.Float64bits(acc[j]) != math.Float64bits(want[j]) && !(acc[j] != acc[j] && want[j] != want[j]) {
						t.Fatalf("c = %d, rows = %d: acc[%d] = %v; want %v", c, rows, j, acc[j], want[j])
					}
					if !same(dst[j], float32(want[j])) {
						t.Fatalf("c = %d, rows = %d: dst[%d] = %v; want %v", c, rows, j, dst[j], float32(want[j]))
					}
				}
			}
		}
	})
}

// SumRowsF32 adds in row order: a column of 1, 2⁵³ and −2⁵³ sums to 0 (not 1, as another
// order would give), and one of 2⁵³, 1, 1 to 2⁵³.
func TestSumRowsOrder(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		const c = 72 // a wide AVX-512 panel would be 128: this takes the narrow ones too
		x := make([]float32, 3*c)
		for j := range c {
			x[j], x[c+j], x[2*c+j] = 1, 1<<53, -(1 << 53)
			if j%2 == 1 {
				x[j], x[c+j], x[2*c+j] = 1<<53, 1, 1
			}
		}
		dst, acc := make([]float32, c), make([]float64, c)
		SumRowsF32(dst, x, c, acc)
		for j, got := range dst {
			want := float32(0)
			if j%2 == 1 {
				want = 1 << 53
			}
			if got != want {
				t.Fatalf("column %d sums to %v; want %v", j, got, want)
			}
		}
	})
}

// SoftmaxScaleF32 equals SoftmaxF32 followed by the scaling loop it replaces in graph's
// cross-entropy gradient, bit for bit: every length to 40 and around the blocks, short
// horizons, edge-value inputs, scales that are tiny, negative, zero, infinite and NaN;
// in place too.
func TestSoftmaxScaleF32(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		var lengths []int
		for l := 0; l <= 40; l++ {
			lengths = append(lengths, l)
		}
		lengths = append(lengths, 63, 64, 65, 100, 255, 256, 257)
		scales := []float64{1.0 / 768, -1.0 / 3, 1, 0, 1e-300, 1e300, math.Inf(1), math.NaN()}
		for _, l := range lengths {
			for _, scale := range scales {
				for trial := range 4 {
					src := rowsInput(rng, l)
					if trial == 0 {
						for i := range src {
							src[i] = float32(rng.NormFloat64())
						}
					}
					n := l
					if trial == 3 {
						n = rng.IntN(l + 1)
					}
					want := make([]float32, l)
					SoftmaxF32(want, src, n)
					for j := range want {
						want[j] = float32(float64(want[j]) * scale)
					}
					got := make([]float32, l+1)
					got[l] = -7
					SoftmaxScaleF32(got[:l], src, n, scale)
					in := clone(src)
					SoftmaxScaleF32(in, in, n, scale)
					for j := range want {
						if !same(got[j], want[j]) || !same(in[j], want[j]) {
							t.Fatalf("len %d, n %d, scale %v: [%d] = %v (in place %v); want %v (src %v)",
								l, n, scale, j, got[j], in[j], want[j], src)
						}
					}
					if got[l] != -7 {
						t.Fatalf("len %d: wrote past dst", l)
					}
				}
			}
		}
	})
}

// lseRef is LogSumExpF32's formula one element at a time: Exp32 and a float64 sum.
func lseRef(x []float32) float64 {
	m := float32(math.Inf(-1))
	nan, inf := false, false
	for _, v := range x {
		nan = nan || v != v
		inf = inf || math.IsInf(float64(v), 1)
		if v > m {
			m = v
		}
	}
	switch {
	case inf:
		return math.Inf(1)
	case nan:
		return math.NaN()
	case math.IsInf(float64(m), -1):
		return m64(m)
	}
	var s float64
	for _, v := range x {
		s += float64(Exp32(v - m))
	}
	return float64(m) + math.Log(s)
}

func m64(f float32) float64 { return float64(f) }

// lseMath is the float64 log-sum-exp LogSumExpF32 replaces in graph's cross-entropy:
// math.Max, math.Exp, math.Log.
func lseMath(x []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	if math.IsInf(mx, 0) {
		return mx
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// LogSumExpF32 equals its one-element-at-a-time formula bit for bit (lengths to 40 and
// past its 256-element chunks, edge values), and has the float64 formula's special
// values.
func TestLogSumExpF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lengths := []int{}
	for l := 0; l <= 40; l++ {
		lengths = append(lengths, l)
	}
	lengths = append(lengths, 65, 255, 256, 257, 600)
	for _, l := range lengths {
		for trial := range 6 {
			x := rowsInput(rng, l)
			if trial%2 == 0 { // no special values: a finite result
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 3)
				}
			}
			got, want := LogSumExpF32(x), lseRef(x)
			if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
				t.Fatalf("len %d: LogSumExpF32 = %v; want %v (x %v)", l, got, want, x)
			}
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct {
		x    []float32
		want float64
	}{
		{nil, math.Inf(-1)},
		{[]float32{-inf, -inf, -inf}, math.Inf(-1)},
		{[]float32{1, inf, 2}, math.Inf(1)},
		{[]float32{1, nan, inf}, math.Inf(1)},
		{[]float32{1, nan, 2}, math.NaN()},
		{[]float32{-inf, nan}, math.NaN()},
		{[]float32{-inf, 3, -inf}, 3},
		{[]float32{0, 0}, math.Ln2},
		{[]float32{math.MaxFloat32, math.MaxFloat32}, math.MaxFloat32 + math.Ln2},
		{[]float32{-math.MaxFloat32, 0}, 0},
	} {
		got, ref := LogSumExpF32(c.x), lseMath(c.x)
		if !(got == c.want || got != got && c.want != c.want) || !(ref == c.want || ref != ref && c.want != c.want) {
			t.Errorf("LogSumExpF32(%v) = %v (float64 formula %v); want %v", c.x, got, ref, c.want)
		}
	}
}

// LogSumExpF32 against the float64 formula (math.Exp and math.Log), on rows like a
// cross-entropy's logits (2, 65 and 50257 wide, spreads from 0.1 to 30, shifted by up
// to 1e4) and on rows with a dominant entry: within 1e-7 absolute (2.3e-8 measured),
// the rounding error of the float32 exponentials.
func TestLogSumExpF32Accuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	worst, at := 0.0, ""
	for _, v := range []int{2, 65, 50257} {
		for _, sigma := range []float64{0.1, 1, 3, 10, 30} {
			for _, shift := range []float64{0, -20, 1e4} {
				trials := 40
				if v > 1000 {
					trials = 2
				}
				for trial := range trials {
					x := make([]float32, v)
					for i := range x {
						x[i] = float32(rng.NormFloat64()*sigma + shift)
					}
					if trial%2 == 1 {
						x[rng.IntN(v)] += float32(5 * sigma)
					}
					got, want := LogSumExpF32(x), lseMath(x)
					if e := math.Abs(got - want); e > worst {
						worst, at = e, fmt.Sprintf("V %d, σ %v, shift %v: %v, want %v", v, sigma, shift, got, want)
					}
				}
			}
		}
	}
	t.Logf("LogSumExpF32: worst absolute error %.3g (%s)", worst, at)
	if worst > 1e-7 {
		t.Fatalf("LogSumExpF32 is off by %.3g: %s", worst, at)
	}
}

// The bias gradients of nanogpt-cpu's step: 768 rows of 128 and of 512 columns.
func BenchmarkSumRowsF32(b *testing.B) {
	for _, c := range []int{128, 512} {
		b.Run(fmt.Sprintf("768x%d", c), func(b *testing.B) {
			x := benchInput(768 * c)
			dst, acc := make([]float32, c), make([]float64, c)
			benchLevels(b, func(b *testing.B) {
				b.SetBytes(int64(4 * len(x)))
				for b.Loop() {
					SumRowsF32(dst, x, c, acc)
				}
			})
		})
	}
}

// ceBench is the cross-entropy benchmarks' input: nanogpt-cpu's logits, 768 rows of 65.
func ceBench() (x, d []float32) {
	x = benchInput(768 * 65)
	return x, make([]float32, len(x))
}

// The cross-entropy gradient's rows: SoftmaxScaleF32, and (old) SoftmaxF32 then a Go
// scaling pass.
func BenchmarkSoftmaxScaleF32(b *testing.B) {
	x, d := ceBench()
	const v, scale = 65, 1.0 / 768
	b.Run("old", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			for r := 0; r < len(x); r += v {
				row := d[r : r+v]
				SoftmaxF32(row, x[r:r+v], v)
				for j := range row {
					row[j] = float32(float64(row[j]) * scale)
				}
			}
		}
	})
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			for r := 0; r < len(x); r += v {
				SoftmaxScaleF32(d[r:r+v], x[r:r+v], v, scale)
			}
		}
	})
}

// The cross-entropy loss's rows: LogSumExpF32, and (old) the float64 formula with
// math.Exp.
func BenchmarkLogSumExpF32(b *testing.B) {
	x, _ := ceBench()
	const v = 65
	var sink float64
	b.Run("old", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			for r := 0; r < len(x); r += v {
				sink += lseMath(x[r : r+v])
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			for r := 0; r < len(x); r += v {
				sink += LogSumExpF32(x[r : r+v])
			}
		}
	})
	_ = sink
}
