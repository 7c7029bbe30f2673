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
		x := G.NewTensor(g, tensor.Int, 2, G.WithShape(3, 6), G.WithName("ids"), G.WithValue(tensor.New(tensor.WithShape(3, 6), tensor.WithBacking(ids))))
		y := G.NewTensor(g, tensor.Int, 2, G.WithShape(3, 6), G.WithName("targets"), G.WithValue(tensor.New(tensor.WithShape(3, 6), tensor.WithBacking(tg))))
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
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		want := [][]float64{graphtest.Values(t, loss.Value())}
		for _, gn := range grads {
			want = append(want, graphtest.Values(t, gn.Value()))
		}
		vm.Close()
		p, err := graph.NewProgram(append(G.Nodes{loss}, grads...)...)
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 3; run++ {
			if err := p.Run(); err != nil {
				t.Fatal(err)
			}
			got := [][]float64{graphtest.Values(t, p.Value(loss))}
			for _, gn := range grads {
				got = append(got, graphtest.Values(t, p.Value(gn)))
			}
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("%v run %d: value %d[%d] = %v, TapeMachine %v", dt, run, i, j, got[i][j], want[i][j])
					}
				}
			}
		}
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
