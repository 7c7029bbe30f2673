package layers_test

import (
	"fmt"
	"strings"

	"github.com/attend-go/attend/internal/explain"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// seedAttention runs the seed's example through a SelfAttention layer with the seed's
// weights and prints the attention weights and the output. `train-toy explain` prints
// every intermediate matrix (package internal/explain).
func seedAttention(causal bool) {
	in := explain.Seed(causal)
	flat := func(m [][]float64) *tensor.Dense {
		var d []float64
		for _, row := range m {
			d = append(d, row...)
		}
		return tensor.New(tensor.WithShape(len(m), len(m[0])), tensor.WithBacking(d))
	}
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(3, 2), G.WithName("encodings"), G.WithValue(flat(in.X)))
	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: 2, Causal: causal},
		layers.WithDtype(tensor.Float64))
	if err != nil {
		fmt.Println(err)
		return
	}
	G.Let(att.Wq, flat(in.Wq)) // x·Wq: the transpose of nn.Linear's weight
	G.Let(att.Wk, flat(in.Wk))
	G.Let(att.Wv, flat(in.Wv))
	out, weights, err := att.Attend(x, layers.AttendInputs{}) // (3, 2), (1, 1, 3, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	show := func(name string, n *G.Node) {
		d := n.Value().Data().([]float64)
		var rows []string
		cols := n.Shape()[len(n.Shape())-1]
		for i := 0; i < len(d); i += cols {
			var cells []string
			for _, x := range d[i : i+cols] {
				cells = append(cells, fmt.Sprintf("%.4f", x+0)) // +0 turns -0 into 0
			}
			rows = append(rows, "["+strings.Join(cells, ", ")+"]")
		}
		fmt.Printf("%s: [%s]\n", name, strings.Join(rows, ", "))
	}
	show("attention weights", weights)
	show("output", out)
}

// The seed's self-attention on its 3-token example, d_model = 2, with the weights
// torch.manual_seed(42) gave it.
func ExampleSelfAttention_seed() {
	seedAttention(false)
	// Output:
	// attention weights: [[0.3573, 0.4011, 0.2416], [0.3410, 0.6047, 0.0542], [0.0722, 0.0320, 0.8959]]
	// output: [[1.0100, 1.0641], [0.2040, 0.7057], [3.4989, 2.2427]]
}

// The seed's masked (causal) self-attention on the same example: each token attends only
// to itself and the tokens before it.
func ExampleSelfAttention_seedMasked() {
	seedAttention(true)
	// Output:
	// attention weights: [[1.0000, 0.0000, 0.0000], [0.3606, 0.6394, 0.0000], [0.0722, 0.0320, 0.8959]]
	// output: [[0.6038, 0.7434], [-0.0062, 0.6072], [3.4989, 2.2427]]
}
