package graph_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheck checks any float64 graph: here the user's own x·W followed by SoftMax.
func ExampleGradCheck() {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(2, 3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(fill(6)))))
	w := G.NewMatrix(g, G.Float64, G.WithShape(3, 2), G.WithName("W"),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking(fill(6)))))
	r := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(fill(4)))))

	xw := G.Must(G.Mul(x, w)) // (2, 3) × (3, 2) → (2, 2)
	p, err := graph.SoftMax(xw, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(p, r))))

	results, err := graph.GradCheck(cost, G.Nodes{x, w}, graph.GradCheckOpts{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, res := range results {
		fmt.Printf("%s %v: worst rel. error below 1e-7: %v\n", res.Node.Name(), res.Node.Shape(), res.RelErr < 1e-7)
	}
	// Output:
	// x (2, 3): worst rel. error below 1e-7: true
	// W (3, 2): worst rel. error below 1e-7: true
}

// A mask blocks entries with 1 (true): they get probability 0, and a row with every
// entry blocked is all zeros rather than NaN.
func ExampleSoftMax() {
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(3, 3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float64{
			1, 2, 3,
			1, 2, 3,
			1e4, 0, -1e4,
		}))))
	mask, err := graph.NewMask(g, tensor.Float64, tensor.Shape{3, 3}, "mask")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := graph.SetMask(mask, []bool{
		false, false, false,
		false, false, true, // the last key is blocked
		true, true, true, // every key is blocked
	}); err != nil {
		fmt.Println(err)
		return
	}
	p, err := graph.SoftMax(x, mask)
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
	v := p.Value().Data().([]float64)
	for i := 0; i < 3; i++ {
		fmt.Printf("%.4f\n", v[3*i:3*i+3])
	}
	// Output:
	// [0.0900 0.2447 0.6652]
	// [0.2689 0.7311 0.0000]
	// [0.0000 0.0000 0.0000]
}

// CausalMask gives the pattern of AttentionOpts.Causal: query i sees keys j ≤ i. With
// fewer queries than keys, the queries are the last positions.
func ExampleCausalMask() {
	show := func(tq, tk int) {
		m := graph.CausalMask(tq, tk)
		for i := 0; i < tq; i++ {
			row := ""
			for j := 0; j < tk; j++ {
				if m[i*tk+j] {
					row += " x"
				} else {
					row += " ."
				}
			}
			fmt.Println(row)
		}
	}
	show(3, 3)
	fmt.Println()
	show(2, 4)
	// Output:
	//  . x x
	//  . . x
	//  . . .
	//
	//  . . . x
	//  . . . .
}
