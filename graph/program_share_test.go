package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lmStep runs two training steps (dropout on) of a small GPT built with the current
// sharing settings and returns the losses and every gradient of the second step.
func lmStep(t *testing.T, dt tensor.Dtype) [][]float64 {
	t.Helper()
	cfg := gpt.Config{Vocab: 11, BlockSize: 8, Layers: 2, Heads: 2, Width: 16, Tied: true, Dropout: 0.1}
	lm, err := gpt.NewLM(cfg, 3, layers.WithDtype(dt), layers.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	var out [][]float64
	for step := 0; step < 2; step++ {
		x, y := make([]int, 3*8), make([]int, 3*8)
		for i := range x {
			x[i], y[i] = rng.IntN(11), rng.IntN(11)-1 // some targets unscored
		}
		loss, err := lm.Backward(step, x, y)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []float64{loss})
	}
	for _, vg := range lm.ValueGrads() {
		g, err := vg.Grad()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, graphtest.Values(t, g))
	}
	// evaluation runs its own program over the same forward ops: it must not disturb
	// the training program's outputs
	x := make([]int, 3*8)
	if _, _, _, err := lm.Evaluate(x, x); err != nil {
		t.Fatal(err)
	}
	for i, vg := range lm.ValueGrads() {
		g, _ := vg.Grad()
		if d, _ := graphtest.WorstDiff(graphtest.Values(t, g), out[2+i]); d != 0 {
			t.Fatalf("gradient %d changed by %g after an evaluation", i, d)
		}
	}
	return out
}

// A GPT's training step gives the same loss and gradients, bit for bit, with buffers
// shared by liveness (and every lent buffer filled with NaN before its op runs) as with
// one buffer per op.
func TestProgramSharingMatchesUnshared(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		restore := graph.SetSharing(false, false)
		want := lmStep(t, dt)
		restore()
		restore = graph.SetSharing(true, true)
		got := lmStep(t, dt)
		restore()
		for i := range want {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%v: value %d has %d elements shared, %d unshared", dt, i, len(got[i]), len(want[i]))
			}
			for j := range want[i] {
				if math.Float64bits(got[i][j]) != math.Float64bits(want[i][j]) {
					t.Fatalf("%v: value %d[%d] = %v shared, %v unshared", dt, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// trainProgram compiles the loss and gradients of a GPT over (batch, BlockSize) ids.
func trainProgram(t *testing.T, cfg gpt.Config, batch int) *graph.Program {
	t.Helper()
	g := G.NewGraph()
	m, err := gpt.New(g, cfg, layers.WithDtype(tensor.Float32))
	if err != nil {
		t.Fatal(err)
	}
	sh := tensor.Shape{batch, cfg.BlockSize}
	x := G.NewTensor(g, tensor.Int, 2, G.WithShape(sh...), G.WithName("ids"), G.WithValue(tensor.New(tensor.WithShape(sh...), tensor.Of(tensor.Int))))
	y := G.NewTensor(g, tensor.Int, 2, G.WithShape(sh...), G.WithName("targets"), G.WithValue(tensor.New(tensor.WithShape(sh...), tensor.Of(tensor.Int))))
	logits, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := graph.CrossEntropy(logits, y)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, m.Learnables()...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(append(G.Nodes{loss}, grads...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The arena of a GPT's training program (nanoGPT's CPU preset, and its context of 1024)
// is a fraction of the sum of its ops' outputs: what the backward pass needs alive at
// once. The bounds are the measured ratios with a margin.
func TestProgramArenaBytes(t *testing.T) {
	for _, c := range []struct {
		block int
		limit float64
	}{{64, 0.5}, {1024, 0.5}} {
		cfg := gpt.Config{Vocab: 65, BlockSize: c.block, Layers: 4, Heads: 4, Width: 128, Tied: true}
		p := trainProgram(t, cfg, 12)
		arena, unshared := p.BufferBytes()
		r := float64(arena) / float64(unshared)
		t.Logf("T=%d: arena %.1f MB, one buffer per op %.1f MB (%.2f)", c.block, float64(arena)/1e6, float64(unshared)/1e6, r)
		if !(r < c.limit) || arena <= 0 {
			t.Errorf("T=%d: arena %d bytes of %d unshared (%.2f); want < %.2f", c.block, arena, unshared, r, c.limit)
		}
	}
}
