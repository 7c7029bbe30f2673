package explain_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/explain"
)

func printSteps(causal bool) {
	steps, err := explain.Steps(explain.Seed(causal))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range steps {
		fmt.Printf("%s: %s\n", s.Name, explain.Inline(s.M))
	}
}

// The seed's walkthrough (self_attention.py): its printed matrices, to 4 decimals.
func ExampleSteps() {
	printSteps(false)
	// Output:
	// encodings: [[1.1600, 0.2300], [0.5700, 1.3600], [4.4100, -2.1600]]
	// Q: [[0.7621, -0.0428], [1.1063, 0.7890], [1.1164, -2.1336]]
	// K: [[-0.1469, -0.3038], [0.1057, 0.3685], [-0.9914, -2.4152]]
	// V: [[0.6038, 0.7434], [-0.3502, 0.5303], [3.8695, 2.4246]]
	// similarities: [[-0.0990, 0.0648, -0.6523], [-0.4022, 0.4078, -3.0024], [0.4842, -0.6683, 4.0461]]
	// scaled similarities: [[-0.0700, 0.0458, -0.4612], [-0.2844, 0.2883, -2.1230], [0.3424, -0.4725, 2.8610]]
	// attention weights: [[0.3573, 0.4011, 0.2416], [0.3410, 0.6047, 0.0542], [0.0722, 0.0320, 0.8959]]
	// output: [[1.0100, 1.0641], [0.2040, 0.7057], [3.4989, 2.2427]]
}

// The seed's masked walkthrough (masked_self_attention.py).
func ExampleSteps_masked() {
	printSteps(true)
	// Output:
	// encodings: [[1.1600, 0.2300], [0.5700, 1.3600], [4.4100, -2.1600]]
	// Q: [[0.7621, -0.0428], [1.1063, 0.7890], [1.1164, -2.1336]]
	// K: [[-0.1469, -0.3038], [0.1057, 0.3685], [-0.9914, -2.4152]]
	// V: [[0.6038, 0.7434], [-0.3502, 0.5303], [3.8695, 2.4246]]
	// similarities: [[-0.0990, 0.0648, -0.6523], [-0.4022, 0.4078, -3.0024], [0.4842, -0.6683, 4.0461]]
	// scaled similarities: [[-0.0700, 0.0458, -0.4612], [-0.2844, 0.2883, -2.1230], [0.3424, -0.4725, 2.8610]]
	// mask: [[0.0000, 1.0000, 1.0000], [0.0000, 0.0000, 1.0000], [0.0000, 0.0000, 0.0000]]
	// masked scaled similarities: [[-0.0700, -inf, -inf], [-0.2844, 0.2883, -inf], [0.3424, -0.4725, 2.8610]]
	// attention weights: [[1.0000, 0.0000, 0.0000], [0.3606, 0.6394, 0.0000], [0.0722, 0.0320, 0.8959]]
	// output: [[0.6038, 0.7434], [-0.0062, 0.6072], [3.4989, 2.2427]]
}

// TestStepsAgree checks, on a bigger input with biases and different widths, that the
// displayed products are consistent with the layer's weights and output: the weights are
// the softmax of the masked scaled scores and the output is weights·V.
func TestStepsAgree(t *testing.T) {
	const T, D, DK, DV = 5, 4, 3, 2
	gen := func(r, c int, k float64) [][]float64 {
		m := make([][]float64, r)
		for i := range m {
			m[i] = make([]float64, c)
			for j := range m[i] {
				m[i][j] = math.Sin(k*float64(i*c+j+1)) * 1.5
			}
		}
		return m
	}
	for _, causal := range []bool{false, true} {
		in := explain.Input{X: gen(T, D, 1), Wq: gen(D, DK, 2), Wk: gen(D, DK, 3), Wv: gen(D, DV, 4),
			Bq: []float64{0.1, -0.2, 0.3}, Bk: []float64{0.5, 0, -0.5}, Bv: []float64{1, -1}, Causal: causal}
		steps, err := explain.Steps(in)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string][][]float64{}
		for _, s := range steps {
			by[s.Name] = s.M
		}
		q, v, w, out := by["Q"], by["V"], by["attention weights"], by["output"]
		scores := by["scaled similarities"]
		if causal {
			scores = by["masked scaled similarities"]
		}
		for i := 0; i < T; i++ {
			for c := 0; c < DK; c++ { // q = x·Wq + bq
				want := in.Bq[c]
				for j := 0; j < D; j++ {
					want += in.X[i][j] * in.Wq[j][c]
				}
				if math.Abs(q[i][c]-want) > 1e-12 {
					t.Errorf("causal %v: Q[%d][%d] = %v; want %v", causal, i, c, q[i][c], want)
				}
			}
			var z float64
			for j := 0; j < T; j++ {
				z += math.Exp(scores[i][j])
			}
			for j := 0; j < T; j++ {
				if want := math.Exp(scores[i][j]) / z; math.Abs(w[i][j]-want) > 1e-12 {
					t.Errorf("causal %v: weight[%d][%d] = %v; want softmax %v", causal, i, j, w[i][j], want)
				}
			}
			for c := 0; c < DV; c++ {
				var want float64
				for j := 0; j < T; j++ {
					want += w[i][j] * v[j][c]
				}
				if math.Abs(out[i][c]-want) > 1e-12 {
					t.Errorf("causal %v: output[%d][%d] = %v; want weights·V %v", causal, i, c, out[i][c], want)
				}
			}
		}
	}
}

func TestStepsErrors(t *testing.T) {
	seed := explain.Seed(false)
	for _, c := range []struct {
		name string
		edit func(*explain.Input)
		want string
	}{
		{"empty x", func(in *explain.Input) { in.X = nil }, "x is empty"},
		{"ragged x", func(in *explain.Input) { in.X = [][]float64{{1, 2}, {3}} }, "x is ragged: row 2 has 1 numbers, row 1 has 2"},
		{"Wq rows", func(in *explain.Input) { in.Wq = [][]float64{{1, 2}} }, "Wq has 1 rows; want 2"},
		{"Wk width", func(in *explain.Input) { in.Wk = [][]float64{{1}, {2}} }, "Wk has 1 columns and Wq 2"},
		{"NaN", func(in *explain.Input) { in.Wv[1][0] = math.NaN() }, "Wv[2][1] is NaN"},
		{"bias", func(in *explain.Input) { in.Bq = []float64{1} }, "biases of 1, 0 and 0 numbers; want 2, 2 and 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := seed
			in.Wv = [][]float64{append([]float64(nil), seed.Wv[0]...), append([]float64(nil), seed.Wv[1]...)}
			c.edit(&in)
			_, err := explain.Steps(in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want one containing %q", err, c.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	got := explain.Table([][]float64{{1, -0.5}, {math.Inf(-1), 2}}, []string{"a", "bc"}, []string{"x", "y"})
	want := "            x        y\n   a   1.0000  -0.5000\n  bc     -inf   2.0000\n"
	if got != want {
		t.Errorf("Table =\n%q; want\n%q", got, want)
	}
}
