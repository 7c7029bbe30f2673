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
