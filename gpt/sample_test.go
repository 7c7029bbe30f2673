package gpt_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attend-go/attend/gpt"
)

func TestSampleLogitsGreedy(t *testing.T) {
	tests := []struct {
		name   string
		logits []float64
		want   int
	}{
		{"single", []float64{-3}, 0},
		{"max in middle", []float64{1, 7, 2}, 1},
		{"ties: lowest index", []float64{1, 3, 3, 2}, 1},
		{"all equal", []float64{2, 2, 2}, 0},
		{"-Inf masked", []float64{math.Inf(-1), -50, math.Inf(-1)}, 1},
		{"all -Inf", []float64{math.Inf(-1), math.Inf(-1)}, 0},
		{"+Inf", []float64{1e308, math.Inf(1), 0}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gpt.SampleLogits(tc.logits, 0, 0, nil) // greedy needs no rng
			if err != nil || got != tc.want {
				t.Errorf("SampleLogits(%v, 0) = %d, %v; want %d", tc.logits, got, err, tc.want)
			}
		})
	}
}

func TestSampleLogitsTop1IsGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	logits := make([]float64, 50)
	for trial := 0; trial < 200; trial++ {
		for i := range logits {
			logits[i] = math.Round(rng.NormFloat64() * 3) // rounding makes ties common
		}
		greedy, err := gpt.SampleLogits(logits, 0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, temp := range []float64{0.1, 1, 100} {
			got, err := gpt.SampleLogits(logits, temp, 1, rng)
			if err != nil || got != greedy {
				t.Fatalf("top-1 at T=%v = %d, %v; greedy = %d (logits %v)", temp, got, err, greedy, logits)
			}
		}
	}
}

// checkFrequencies draws n samples and compares frequencies with want
// (probabilities) within 5 standard deviations; want[i] == 0 must never occur.
func checkFrequencies(t *testing.T, logits []float64, temp float64, topK int, want []float64) {
	t.Helper()
	const n = 100_000
	rng := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, len(logits))
	for i := 0; i < n; i++ {
		k, err := gpt.SampleLogits(logits, temp, topK, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts[k]++
	}
	for i, p := range want {
		freq := float64(counts[i]) / n
		sigma := math.Sqrt(p * (1 - p) / n)
		if p == 0 && counts[i] != 0 || math.Abs(freq-p) > 5*sigma {
			t.Errorf("index %d: frequency %.4f, want %.4f ± %.4f (counts %v)", i, freq, p, 5*sigma, counts)
		}
	}
}

func softmaxRef(x []float64, temp float64) []float64 {
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.Exp(v / temp)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestSampleLogitsDistribution(t *testing.T) {
	t.Run("all tokens, T=1", func(t *testing.T) {
		logits := []float64{1, 2, 3, 0.5}
		checkFrequencies(t, logits, 1, 0, softmaxRef(logits, 1))
	})
	t.Run("top-3 of 4, T=0.7", func(t *testing.T) {
		p := softmaxRef([]float64{1, 2, 3}, 0.7)
		checkFrequencies(t, []float64{1, 2, 3, 0.5}, 0.7, 3, []float64{p[0], p[1], p[2], 0})
	})
	t.Run("hot: T=5 flattens", func(t *testing.T) {
		logits := []float64{0, 1, 2}
		checkFrequencies(t, logits, 5, 10, softmaxRef(logits, 5))
	})
	t.Run("ties at the k-th value keep lower indices", func(t *testing.T) {
		checkFrequencies(t, []float64{5, 1, 5, 5}, 1, 2, []float64{0.5, 0, 0.5, 0})
	})
	t.Run("-Inf never drawn", func(t *testing.T) {
		checkFrequencies(t, []float64{0, math.Inf(-1), 0}, 1, 0, []float64{0.5, 0, 0.5})
	})
	t.Run("+Inf takes everything", func(t *testing.T) {
		checkFrequencies(t, []float64{math.Inf(1), 1e300, math.Inf(1)}, 1, 0, []float64{0.5, 0, 0.5})
	})
	t.Run("all -Inf: uniform", func(t *testing.T) {
		inf := math.Inf(-1)
		checkFrequencies(t, []float64{inf, inf}, 1, 0, []float64{0.5, 0.5})
	})
	t.Run("extreme logits and tiny temperature", func(t *testing.T) {
		checkFrequencies(t, []float64{-1e308, 1e308, 1e308 * 0.999}, 1e-300, 0, []float64{0, 1, 0})
	})
}

func TestSampleLogitsDeterministic(t *testing.T) {
	logits := []float64{0.3, -1, 2, 0.7, 1.1}
	draw := func(seed uint64) []int {
		rng := rand.New(rand.NewPCG(seed, 0))
		out := make([]int, 50)
		for i := range out {
			out[i], _ = gpt.SampleLogits(logits, 0.9, 4, rng)
		}
		return out
	}
	a, b := draw(42), draw(42)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different draws:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(draw(43)) {
		t.Error("different seeds gave identical draws")
	}

	// Exactly one rng.Float64() per draw.
	used, twin := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	if _, err := gpt.SampleLogits(logits, 1, 0, used); err != nil {
		t.Fatal(err)
	}
	twin.Float64()
	if x, y := used.Uint64(), twin.Uint64(); x != y {
		t.Errorf("rng advanced differently from one Float64 call")
	}
}

func TestSampleLogitsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name   string
		logits []float64
		temp   float64
		rng    *rand.Rand
		want   string
	}{
		{"empty", nil, 1, rng, "empty logits"},
		{"negative temperature", []float64{1}, -0.5, rng, "temperature -0.5"},
		{"NaN temperature", []float64{1}, math.NaN(), rng, "temperature NaN"},
		{"infinite temperature", []float64{1}, math.Inf(1), rng, "temperature +Inf"},
		{"NaN logit", []float64{1, math.NaN()}, 1, rng, "logit 1 is NaN"},
		{"NaN logit, greedy", []float64{math.NaN()}, 0, rng, "logit 0 is NaN"},
		{"nil rng", []float64{1, 2}, 1, nil, "nil rng"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gpt.SampleLogits(tc.logits, tc.temp, 0, tc.rng)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func ExampleSampleLogits() {
	logits := []float64{1.0, 3.0, 2.5, -1.0}
	greedy, _ := gpt.SampleLogits(logits, 0, 0, nil)
	fmt.Println("greedy:", greedy)

	rng := rand.New(rand.NewPCG(1, 2))
	var draws []int
	for i := 0; i < 10; i++ {
		k, err := gpt.SampleLogits(logits, 0.8, 2, rng) // only tokens 1 and 2 can come out
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		draws = append(draws, k)
	}
	fmt.Println("sampled:", draws)
	// Output:
	// greedy: 1
	// sampled: [2 1 1 1 2 1 2 1 2 1]
}
