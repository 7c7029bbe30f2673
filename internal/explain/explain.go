// Package explain computes the steps of one attention head for display: the encodings,
// Q, K and V, the similarity scores q·kᵀ, the scaled scores, the causal mask and the
// masked scores, the attention weights and the output — the walkthrough of the course
// attend grew from (its self_attention.py and masked_self_attention.py), on the seed's
// example or on any other input. The numbers come from layers.SelfAttention and the
// graph ops it is built on, run in float64, so what is shown is what the library
// computes. `train-toy explain` prints them; the layers package's seed Example checks
// them against the course's published output.
package explain

import (
	"fmt"
	"math"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The seed's three tokens, two numbers each (float32-rounded, as PyTorch held them), and
// the weights torch.manual_seed(42) gave its nn.Linear(2, 2, bias=False) layers,
// transposed to x·W.
var (
	seedX  = [][]float64{{1.159999966621399, 0.23000000417232513}, {0.5699999928474426, 1.3600000143051147}, {4.409999847412109, -2.1600000858306885}}
	seedWq = [][]float64{{0.5406103730201721, -0.16565565764904022}, {0.5869042277336121, 0.6495562791824341}}
	seedWk = [][]float64{{-0.15492962300777435, -0.34425848722457886}, {0.14268755912780762, 0.4152715504169464}}
	seedWv = [][]float64{{0.6233449578285217, 0.6146144866943359}, {-0.5187534093856812, 0.13234160840511322}}
)

// Seed returns the seed's example: its encodings and weights, no biases. Each call
// returns fresh slices.
func Seed(causal bool) Input {
	return Input{X: clone(seedX), Wq: clone(seedWq), Wk: clone(seedWk), Wv: clone(seedWv), Causal: causal}
}

// Input is one attention head's input and weights, every matrix row-major as rows.
type Input struct {
	X          [][]float64 // (T, D): one row of D numbers per token
	Wq, Wk, Wv [][]float64 // (D, DK), (D, DK), (D, DV): q = x·Wq + Bq, as layers.SelfAttention
	Bq, Bk, Bv []float64   // (DK), (DK), (DV), or all nil
	Causal     bool        // each token attends only to itself and the tokens before it
}

// Step is one matrix of the walkthrough.
type Step struct {
	Name string      // short name: "Q", "scaled scores"
	What string      // one sentence saying what the matrix is
	M    [][]float64 // the values; -Inf marks a masked score
	// Square is true for the (T, T) matrices whose rows are queries and columns keys
	// (scores, mask, weights); the others have one row per token.
	Square bool
}

// Steps computes the walkthrough of in: encodings, Q, K, V, similarities, scaled
// similarities, (causal) the mask and the masked scores, attention weights, output.
// The attention weights and the output are the ones layers.SelfAttention.Attend returns;
// Q, K, V and the scores are the products it is made of, from the same weights.
func Steps(in Input) ([]Step, error) {
	t, d, err := dims(in.X, "x", -1)
	if err != nil {
		return nil, err
	}
	_, dk, err := dims(in.Wq, "Wq", d)
	if err != nil {
		return nil, err
	}
	if _, c, err := dims(in.Wk, "Wk", d); err != nil {
		return nil, err
	} else if c != dk {
		return nil, errors.Errorf("explain: Wk has %d columns and Wq %d; queries and keys must have the same width", c, dk)
	}
	_, dv, err := dims(in.Wv, "Wv", d)
	if err != nil {
		return nil, err
	}
	bias := in.Bq != nil || in.Bk != nil || in.Bv != nil
	if bias && (len(in.Bq) != dk || len(in.Bk) != dk || len(in.Bv) != dv) {
		return nil, errors.Errorf("explain: biases of %d, %d and %d numbers; want %d, %d and %d", len(in.Bq), len(in.Bk), len(in.Bv), dk, dk, dv)
	}

	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(t, d), G.WithName("encodings"), G.WithValue(dense(in.X)))
	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: d, DKey: dk, DValue: dv, Causal: in.Causal, Bias: bias},
		layers.WithDtype(tensor.Float64))
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	lets := []struct {
		n *G.Node
		v *tensor.Dense
	}{{att.Wq, dense(in.Wq)}, {att.Wk, dense(in.Wk)}, {att.Wv, dense(in.Wv)}}
	if bias {
		lets = append(lets, []struct {
			n *G.Node
			v *tensor.Dense
		}{{att.Bq, vector(in.Bq)}, {att.Bk, vector(in.Bk)}, {att.Bv, vector(in.Bv)}}...)
	}
	for _, l := range lets {
		if err := G.Let(l.n, l.v); err != nil {
			return nil, errors.Wrap(err, "explain")
		}
	}
	// The products the layer fuses, spelled out for display.
	q, err := graph.Dense(x, att.Wq, att.Bq, false) // (T, D) × (D, DK) → (T, DK)
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	k, err := graph.Dense(x, att.Wk, att.Bk, false) // (T, D) × (D, DK) → (T, DK)
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	v, err := graph.Dense(x, att.Wv, att.Bv, false) // (T, D) × (D, DV) → (T, DV)
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	scale := 1 / math.Sqrt(float64(dk))
	sims, err := graph.Scores(q, k, 1, 1) // q·kᵀ: (T, DK) × (DK, T) → (1, 1, T, T)
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	scaled, err := graph.Scores(q, k, 1, scale) // q·kᵀ/√DK
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	out, weights, err := att.Attend(x, layers.AttendInputs{}) // (T, DV), (1, 1, T, T)
	if err != nil {
		return nil, errors.Wrap(err, "explain")
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return nil, errors.Wrap(err, "explain")
	}

	steps := []Step{
		{Name: "encodings", What: "the input: one row per token, one column per dimension of the model", M: clone(in.X)},
		{Name: "Q", What: "the queries, q = x·Wq: what each token looks for", M: rows(q)},
		{Name: "K", What: "the keys, k = x·Wk: what each token offers to be found by", M: rows(k)},
		{Name: "V", What: "the values, v = x·Wv: what each token passes on when attended to", M: rows(v)},
		{Name: "similarities", What: "the similarity scores q·kᵀ: row i, column j is how well query i matches key j", M: rows(sims), Square: true},
		{Name: "scaled similarities", What: fmt.Sprintf("the similarities divided by √d_k (d_k = %d, the width of the keys), which keeps softmax from saturating as the width grows", dk), M: rows(scaled), Square: true},
	}
	if in.Causal {
		blocked := graph.CausalMask(t, t)
		mask, masked := make([][]float64, t), rows(scaled)
		for i := range mask {
			mask[i] = make([]float64, t)
			for j := range mask[i] {
				if blocked[i*t+j] {
					mask[i][j], masked[i][j] = 1, math.Inf(-1)
				}
			}
		}
		steps = append(steps,
			Step{Name: "mask", What: "the causal mask: 1 where query i may not see key j because j comes after i", M: mask, Square: true},
			Step{Name: "masked scaled similarities", What: "the scaled scores with every masked entry set to -inf, so softmax gives it weight 0", M: masked, Square: true})
	}
	steps = append(steps,
		Step{Name: "attention weights", What: "softmax of each row of the (masked) scaled scores: how much each query takes from each token; rows sum to 1", M: rows(weights), Square: true},
		Step{Name: "output", What: "the attention output, weights·V: each token's weighted mix of the values", M: rows(out)})
	return steps, nil
}

// dims checks that m is a non-empty rectangular matrix of finite numbers (with want
// rows when want ≥ 0) and returns its shape.
func dims(m [][]float64, name string, want int) (r, c int, err error) {
	if len(m) == 0 || len(m[0]) == 0 {
		return 0, 0, errors.Errorf("explain: %s is empty", name)
	}
	if want >= 0 && len(m) != want {
		return 0, 0, errors.Errorf("explain: %s has %d rows; want %d (the width of x)", name, len(m), want)
	}
	for i, row := range m {
		if len(row) != len(m[0]) {
			return 0, 0, errors.Errorf("explain: %s is ragged: row %d has %d numbers, row 1 has %d", name, i+1, len(row), len(m[0]))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, 0, errors.Errorf("explain: %s[%d][%d] is %v; want a finite number", name, i+1, j+1, v)
			}
		}
	}
	return len(m), len(m[0]), nil
}

func dense(m [][]float64) *tensor.Dense {
	var d []float64
	for _, row := range m {
		d = append(d, row...)
	}
	return tensor.New(tensor.WithShape(len(m), len(m[0])), tensor.WithBacking(d))
}

func vector(v []float64) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(append([]float64(nil), v...)))
}

// rows returns a node's value as rows of its last dimension.
func rows(n *G.Node) [][]float64 {
	d := n.Value().Data().([]float64)
	cols := n.Shape()[len(n.Shape())-1]
	out := make([][]float64, 0, len(d)/cols)
	for i := 0; i < len(d); i += cols {
		out = append(out, append([]float64(nil), d[i:i+cols]...))
	}
	return out
}

func clone(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i, row := range m {
		out[i] = append([]float64(nil), row...)
	}
	return out
}

// RandomWeights returns x with weights drawn as layers.SelfAttention initialises them
// from seed (uniform in ±1/√D, nn.Linear's default): Wq and Wk (D, D), Wv (D, D), no
// biases.
func RandomWeights(x [][]float64, seed uint64, causal bool) (Input, error) {
	_, d, err := dims(x, "x", -1)
	if err != nil {
		return Input{}, err
	}
	att, err := layers.NewSelfAttention(G.NewGraph(), "attn", layers.AttentionConfig{DModel: d, Causal: causal},
		layers.WithDtype(tensor.Float64), layers.WithSeed(seed))
	if err != nil {
		return Input{}, errors.Wrap(err, "explain")
	}
	return Input{X: clone(x), Wq: rows(att.Wq), Wk: rows(att.Wk), Wv: rows(att.Wv), Causal: causal}, nil
}
