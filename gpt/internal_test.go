package gpt

import (
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/internal/race"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graph.Program computes a whole GPT's loss and gradients exactly as Gorgonia's
// TapeMachine does, run after run, and allocates no buffers once warm: what remains are
// small objects (the closures of the parallel loops, the scalar loss), about 40 a run
// (not counted under the race detector, which allocates for itself).
func TestProgramMatchesTapeMachine(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		g := G.NewGraph()
		cfg := Config{Vocab: 7, BlockSize: 6, Layers: 2, Heads: 2, Width: 8, Tied: true}
		m, err := New(g, cfg, layers.WithDtype(dt), layers.WithSeed(4), layers.WithInit(layers.Normal(0.4)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		ids, tg := make([]int, 3*6), make([]int, 3*6)
		for i := range ids {
			ids[i], tg[i] = rng.IntN(7), rng.IntN(7)
		}
		x := graphtest.IntInput(g, "ids", tensor.Shape{3, 6}, ids)
		y := graphtest.IntInput(g, "targets", tensor.Shape{3, 6}, tg)
		_, loss := graphtest.LMLoss(t, m, x, y)
		grads, err := G.Grad(loss, m.Learnables()...)
		if err != nil {
			t.Fatal(err)
		}
		outs := append(G.Nodes{loss}, grads...)
		want := graphtest.TapeValues(t, g, outs)
		p, err := graph.NewProgram(outs...)
		if err != nil {
			t.Fatal(err)
		}
		graphtest.ExpectRunsMatch(t, dt.String(), p, outs, want, 3)
		if race.Enabled {
			continue // the race detector's own allocations would be counted
		}
		if allocs := testing.AllocsPerRun(5, func() { p.Run() }); allocs > 50 {
			t.Errorf("%v: %.0f allocations per run; want at most 50 small ones", dt, allocs)
		} else {
			t.Logf("%v: %.0f allocations per run of %d ops", dt, allocs, p.Len())
		}
	}
}

// TestDecoderAttentionMatchesApply checks the Decoder's attention weights (its cached
// pass from position 0, which computes them only for Attention) against those of
// Model.Apply over the same tokens, in float64 within 1e-12, and that the logits of
// the next token after Attention are those after Feed of the same tokens.
func TestDecoderAttentionMatchesApply(t *testing.T) {
	const n = 5
	g := G.NewGraph()
	cfg := Config{Vocab: 7, BlockSize: 8, Layers: 2, Heads: 2, Width: 8, Tied: true}
	m, err := New(g, cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(4), layers.WithInit(layers.Normal(0.4)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	ids := make([]int, n)
	for i := range ids {
		ids[i] = rng.IntN(cfg.Vocab)
	}
	x := G.NewTensor(g, tensor.Int, 2, G.WithShape(1, n), G.WithName("ids"), G.WithValue(tensor.New(tensor.WithShape(1, n), tensor.WithBacking(append([]int(nil), ids...)))))
	_, weights, err := m.Apply(x)
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(weights...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	d, err := m.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Attention(ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(weights) {
		t.Fatalf("%d blocks of weights; want %d", len(got), len(weights))
	}
	for b, w := range weights {
		want := graphtest.Values(t, p.Value(w)) // (1, H, n, n)
		var flat []float64
		for _, head := range got[b] {
			for _, row := range head {
				flat = append(flat, row...)
			}
		}
		graphtest.ExpectClose(t, "block weights", flat, want, 1e-12)
	}
	next, err := d.Next(3)
	if err != nil {
		t.Fatal(err)
	}
	next = append([]float64(nil), next...)
	d.Reset()
	if _, err := d.Feed(ids); err != nil {
		t.Fatal(err)
	}
	again, err := d.Next(3)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.ExpectClose(t, "logits after Attention", next, again, 1e-12)
}
