package layers_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A causal SelfAttention inside a graph the user owns: the user's input, the user's loss,
// gorgonia.Grad over the layer's Learnables, a TapeMachine and a Gorgonia solver.
func Example_userGraph() {
	rng := rand.New(rand.NewPCG(1, 2))
	data := func() *tensor.Dense { // (2, 4, 8): batch 2, 4 tokens, width 8
		v := make([]float64, 2*4*8)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return tensor.New(tensor.WithShape(2, 4, 8), tensor.WithBacking(v))
	}
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float64, 3, G.WithShape(2, 4, 8), G.WithName("x"), G.WithValue(data()))
	target := G.NewTensor(g, G.Float64, 3, G.WithShape(2, 4, 8), G.WithName("target"), G.WithValue(data()))

	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: 8, Heads: 2, Causal: true, OutProj: true},
		layers.WithDtype(tensor.Float64), layers.WithSeed(1))
	if err != nil {
		panic(err)
	}
	out, _, err := att.Attend(x, layers.AttendInputs{}) // (2, 4, 8)
	if err != nil {
		panic(err)
	}
	// The user's own loss: mean squared error against a target.
	loss := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(out, target))))))
	if _, err := G.Grad(loss, att.Learnables()...); err != nil {
		panic(err)
	}

	m := G.NewTapeMachine(g, G.BindDualValues(att.Learnables()...))
	defer m.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(0.01))
	for step := 0; step <= 100; step++ {
		if err := m.RunAll(); err != nil {
			panic(err)
		}
		if step%25 == 0 {
			fmt.Printf("step %3d: loss %.3f\n", step, loss.Value().Data().(float64))
		}
		if err := solver.Step(G.NodesToValueGrads(att.Learnables())); err != nil {
			panic(err)
		}
		m.Reset()
	}
	// Output:
	// step   0: loss 0.989
	// step  25: loss 0.255
	// step  50: loss 0.103
	// step  75: loss 0.072
	// step 100: loss 0.041
}
