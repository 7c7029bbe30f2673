package gpt_test

import (
	"fmt"
	"slices"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Decoder runs the GPT's own forward pass with a key/value cache: feed a prompt, then
// one token at a time. Past the block size (4 here) the context is the last 4 tokens.
func ExampleDecoder() {
	g := G.NewGraph()
	m, err := gpt.New(g, gpt.Config{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 8},
		layers.WithDtype(tensor.Float64), layers.WithSeed(1), layers.WithInit(layers.Normal(0.5)))
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := m.NewDecoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	logits, err := dec.Feed([]int{1, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out []int
	for len(out) < 6 {
		next := slices.Index(logits, slices.Max(logits)) // greedy
		out = append(out, next)
		if logits, err = dec.Next(next); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("generated", out, "context now", dec.Len(), "tokens")
	// Output: generated [0 2 0 2 0 2] context now 4 tokens
}
