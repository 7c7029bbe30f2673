package layers_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The seed's three tokens, two numbers each (float32-rounded, as PyTorch held them), and
// the weights torch.manual_seed(42) gave its nn.Linear layers, transposed to x·W.
var (
	seedX  = []float64{1.159999966621399, 0.23000000417232513, 0.5699999928474426, 1.3600000143051147, 4.409999847412109, -2.1600000858306885}
	seedWq = []float64{0.5406103730201721, -0.16565565764904022, 0.5869042277336121, 0.6495562791824341}
	seedWk = []float64{-0.15492962300777435, -0.34425848722457886, 0.14268755912780762, 0.4152715504169464}
	seedWv = []float64{0.6233449578285217, 0.6146144866943359, -0.5187534093856812, 0.13234160840511322}
)

// seedWalkthrough builds the seed's attention step by step in a graph of its own and
// prints every intermediate matrix, then the layer's weights and output.
func seedWalkthrough(causal bool) {
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(3, 2), G.WithName("encodings"),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking(seedX))))
	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: 2, Causal: causal},
		layers.WithDtype(tensor.Float64))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []struct {
		w *G.Node
		v []float64
	}{{att.Wq, seedWq}, {att.Wk, seedWk}, {att.Wv, seedWv}} {
		G.Let(p.w, tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(p.v)))
	}

	// The same computation spelled out, for display: the layer fuses it.
	q := G.Must(G.Mul(x, att.Wq))                           // (3, 2) × (2, 2) → (3, 2)
	k := G.Must(G.Mul(x, att.Wk))                           // (3, 2)
	v := G.Must(G.Mul(x, att.Wv))                           // (3, 2)
	sims := G.Must(graph.Scores(q, k, 1, 1))                // q·kᵀ: (3, 2) × (2, 3) → (1, 1, 3, 3)
	scaled := G.Must(graph.Scores(q, k, 1, 1/math.Sqrt(2))) // q·kᵀ/√d_k

	out, weights, err := att.Attend(x, layers.AttendInputs{})
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
		cols := n.Shape()[len(n.Shape())-1]
		var rows []string
		for i := 0; i < len(d); i += cols {
			var cells []string
			for _, x := range d[i : i+cols] {
				cells = append(cells, fmt.Sprintf("%.4f", x+0)) // +0 turns -0 into 0
			}
			rows = append(rows, "["+strings.Join(cells, ", ")+"]")
		}
		fmt.Printf("%s: [%s]\n", name, strings.Join(rows, ", "))
	}
	show("Q", q)
	show("K", k)
	show("V", v)
	show("similarities", sims)
	show("scaled similarities", scaled)
	show("attention weights", weights)
	show("output", out)
}

// The seed's self-attention on its 3-token example, d_model = 2.
func ExampleSelfAttention_seed() {
	seedWalkthrough(false)
	// Output:
	// Q: [[0.7621, -0.0428], [1.1063, 0.7890], [1.1164, -2.1336]]
	// K: [[-0.1469, -0.3038], [0.1057, 0.3685], [-0.9914, -2.4152]]
	// V: [[0.6038, 0.7434], [-0.3502, 0.5303], [3.8695, 2.4246]]
	// similarities: [[-0.0990, 0.0648, -0.6523], [-0.4022, 0.4078, -3.0024], [0.4842, -0.6683, 4.0461]]
	// scaled similarities: [[-0.0700, 0.0458, -0.4612], [-0.2844, 0.2883, -2.1230], [0.3424, -0.4725, 2.8610]]
	// attention weights: [[0.3573, 0.4011, 0.2416], [0.3410, 0.6047, 0.0542], [0.0722, 0.0320, 0.8959]]
	// output: [[1.0100, 1.0641], [0.2040, 0.7057], [3.4989, 2.2427]]
}

// The seed's masked (causal) self-attention on the same example: each token attends only
// to itself and the tokens before it.
func ExampleSelfAttention_seedMasked() {
	seedWalkthrough(true)
	// Output:
	// Q: [[0.7621, -0.0428], [1.1063, 0.7890], [1.1164, -2.1336]]
	// K: [[-0.1469, -0.3038], [0.1057, 0.3685], [-0.9914, -2.4152]]
	// V: [[0.6038, 0.7434], [-0.3502, 0.5303], [3.8695, 2.4246]]
	// similarities: [[-0.0990, 0.0648, -0.6523], [-0.4022, 0.4078, -3.0024], [0.4842, -0.6683, 4.0461]]
	// scaled similarities: [[-0.0700, 0.0458, -0.4612], [-0.2844, 0.2883, -2.1230], [0.3424, -0.4725, 2.8610]]
	// attention weights: [[1.0000, 0.0000, 0.0000], [0.3606, 0.6394, 0.0000], [0.0722, 0.0320, 0.8959]]
	// output: [[0.6038, 0.7434], [-0.0062, 0.6072], [3.4989, 2.2427]]
}
