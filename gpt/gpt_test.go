package gpt_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGPTGradCheck checks the gradients of a whole tiny GPT's cross-entropy loss with
// respect to every learnable, in float64.
func TestGPTGradCheck(t *testing.T) {
	cases := []gpt.Config{
		{Vocab: 5, BlockSize: 4, Layers: 2, Heads: 2, Width: 4},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 1, Width: 4, Tied: true, Bias: true},
		{Vocab: 6, BlockSize: 5, Layers: 1, Heads: 2, Width: 4, NoAttention: true},
		// the modern decoders' parts, each alone
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, Norm: gpt.NormRMS},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, Norm: gpt.NormRMSNoGain},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, MLP: layers.ActSwiGLU, MLPHidden: 6},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, MLP: layers.ActReLU2, Bias: true},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, SoftCap: 2},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, Pos: gpt.PosNone},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, Pos: gpt.PosRoPE},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 8, Pos: gpt.PosRoPE, RoPEStyle: "half", RoPETheta: 100},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, Pos: gpt.PosALiBi},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 4, Width: 8, KVHeads: 2},
		{Vocab: 5, BlockSize: 4, Layers: 1, Heads: 2, Width: 4, KVHeads: 1, QKNorm: true},
		{Vocab: 5, BlockSize: 4, Layers: 2, Heads: 2, Width: 4, Windows: "SL", ShortWindow: 2},
		// the families' combinations
		{Vocab: 5, BlockSize: 4, Layers: 2, Heads: 4, Width: 8, Norm: gpt.NormRMS, Pos: gpt.PosRoPE, MLP: layers.ActSwiGLU, KVHeads: 2},
		{Vocab: 5, BlockSize: 4, Layers: 2, Heads: 4, Width: 8, Norm: gpt.NormRMSNoGain, Pos: gpt.PosRoPE, RoPEStyle: "half", MLP: layers.ActReLU2, KVHeads: 2, QKNorm: true, Windows: "SL", SoftCap: 3},
	}
	for _, cfg := range cases {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			g := G.NewGraph()
			m, err := gpt.New(g, cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(3), layers.WithInit(layers.Normal(0.5)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			const B, T = 2, 3
			ids := make([]int, B*T)
			tg := make([]int, B*T)
			for i := range ids {
				ids[i], tg[i] = rng.IntN(cfg.Vocab), rng.IntN(cfg.Vocab)
			}
			tg[1] = -1 // an unscored position
			x := graphtest.IntInput(g, "ids", tensor.Shape{B, T}, ids)
			y := graphtest.IntInput(g, "targets", tensor.Shape{B, T}, tg)
			_, loss := graphtest.LMLoss(t, m, x, y)
			res, err := graph.GradCheck(loss, m.Learnables(), graph.GradCheckOpts{})
			if err != nil {
				t.Fatal(err)
			}
			worst := res[0]
			for _, r := range res {
				if r.RelErr > worst.RelErr {
					worst = r
				}
				if r.RelErr > 1e-6 {
					t.Errorf("%v", r)
				}
			}
			t.Logf("gradcheck: GPT %d learnables, worst %v", len(res), worst)
		})
	}
}

// TestBlockInput: the stream entering block l, run through the remaining blocks, the
// final LayerNorm and the tied head, gives Forward's logits; out-of-range blocks are
// refused.
func TestBlockInput(t *testing.T) {
	g := G.NewGraph()
	cfg := gpt.Config{Vocab: 7, BlockSize: 5, Layers: 3, Heads: 2, Width: 8, Tied: true}
	m, err := gpt.New(g, cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(4), layers.WithInit(layers.Normal(0.5)))
	if err != nil {
		t.Fatal(err)
	}
	ids := G.NewTensor(g, tensor.Int, 2, G.WithShape(1, 5), G.WithName("ids"),
		G.WithValue(tensor.New(tensor.WithShape(1, 5), tensor.WithBacking([]int{1, 6, 0, 3, 3}))))
	want, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	x, err := m.BlockInput(ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Blocks[1:] {
		if x, err = b.Forward(x); err != nil {
			t.Fatal(err)
		}
	}
	if x, err = m.LNF.Forward(x); err != nil {
		t.Fatal(err)
	}
	got, err := graph.Dense(x, m.WTE.W, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(want, got)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	w, gv := p.Value(want).Data().([]float64), p.Value(got).Data().([]float64)
	for i := range w {
		if w[i] != gv[i] {
			t.Fatalf("logit %d: %v through BlockInput, %v from Forward", i, gv[i], w[i])
		}
	}
	for _, l := range []int{-1, 4} {
		if _, err := m.BlockInput(ids, l); !errors.Is(err, attend.ErrArgument) {
			t.Errorf("BlockInput(ids, %d): %v; want attend.ErrArgument", l, err)
		}
	}
}
