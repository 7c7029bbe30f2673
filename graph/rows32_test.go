package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The float32 column sums (internal/vec's kernel) give exactly the float64 loop's sums
// rounded to float32, for the bias widths of nanogpt-cpu and odd ones.
func TestSumRowsFloat32FastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []int{1, 5, 65, 128, 512} {
		for _, rows := range []int{1, 3, 768} {
			x32, x64 := make([]float32, rows*c), make([]float64, rows*c)
			for i := range x32 {
				x32[i] = float32(rng.NormFloat64() * 1e-3)
				x64[i] = float64(x32[i])
			}
			got, want := make([]float32, c), make([]float64, c)
			sumRows(got, x32, c, make([]float64, c))
			sumRows(want, x64, c, make([]float64, c))
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(float32(want[j])) {
					t.Fatalf("c %d, rows %d: column %d sums to %v; the float64 loop gives %v", c, rows, j, got[j], float32(want[j]))
				}
			}
		}
	}
}

// The float32 cross-entropy gradient (softmax and scale in one internal/vec pass) gives
// exactly the general softmax loop followed by the scaling pass, row by row, with
// unscored rows left 0.
func TestCrossEntropyBackwardFloat32FastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, v := range []int{1, 7, 65, 100} {
		const rows = 37
		logits := make([]float32, rows*v)
		for i := range logits {
			logits[i] = float32(rng.NormFloat64() * 3)
		}
		targets := make([]int, rows)
		n := 0
		for r := range targets {
			targets[r] = rng.IntN(v+1) - 1 // −1: not scored
			if targets[r] >= 0 {
				n++
			}
		}
		const g = 0.75
		got := make([]float32, len(logits))
		if err := crossEntropyBackward(got, logits, targets, v, g); err != nil {
			t.Fatal(err)
		}
		scale := g / float64(n)
		for r, tg := range targets {
			want := make([]float32, v)
			if tg >= 0 {
				softmaxRow(want, logits[r*v:(r+1)*v], rowMask[float32]{limit: v, mask: make([]float32, v)})
				for j := range want {
					want[j] = float32(float64(want[j]) * scale)
				}
				want[tg] -= float32(scale)
			}
			for j, w := range want {
				if math.Float32bits(got[r*v+j]) != math.Float32bits(w) {
					t.Fatalf("V %d, row %d (target %d): gradient[%d] = %v; want %v", v, r, tg, j, got[r*v+j], w)
				}
			}
		}
	}
}

// The float32 cross-entropy loss (internal/vec's float32 exponentials) is within 1e-8
// relative (1e-10 measured) of the float64 formula's on the same logits: nanogpt-cpu's
// 768 rows of 65, at logit spreads from untrained to confident.
func TestCrossEntropyFloat32Loss(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const rows, v = 768, 65
	for _, sigma := range []float64{0.02, 1, 5} {
		x32, x64 := make([]float32, rows*v), make([]float64, rows*v)
		for i := range x32 {
			x32[i] = float32(rng.NormFloat64() * sigma)
			x64[i] = float64(x32[i])
		}
		targets := make([]int, rows)
		for r := range targets {
			targets[r] = rng.IntN(v)
			if r%2 == 0 { // half the rows confident and right
				x32[r*v+targets[r]] += float32(4 * sigma)
				x64[r*v+targets[r]] = float64(x32[r*v+targets[r]])
			}
		}
		got, err := crossEntropy(x32, targets, v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := crossEntropy(x64, targets, v)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("σ %v: loss %.10g, float64 formula %.10g, relative difference %.2g", sigma, got, want, math.Abs(got-want)/want)
		if math.Abs(got-want) > 1e-8*want {
			t.Errorf("σ %v: loss %.17g; the float64 formula gives %.17g", sigma, got, want)
		}
	}
}
