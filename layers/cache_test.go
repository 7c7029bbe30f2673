package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SelfAttention with a key/value cache, fed a sequence in chunks (several positions at
// once after cached ones, then one at a time), gives the outputs and weights of the
// plain layer over the whole prefix, for every configuration: custom scale, key and
// value widths apart from the model's, heads, biases, no output projection, causal or
// not.
func TestSelfAttentionCacheMatchesFull(t *testing.T) {
	cfgs := []AttentionConfig{
		{DModel: 8, Heads: 2, Causal: true, OutProj: true, Bias: true, Scale: 0.7},
		{DModel: 6, Heads: 3, DKey: 9, DValue: 12, Causal: true, OutProj: true},
		{DModel: 6, Heads: 3, DKey: 9, DValue: 12, Causal: true, Scale: 2.5},
		{DModel: 8, Heads: 1, Bias: true},
		{DModel: 4, Heads: 4, OutProj: true, Scale: 0.1},
	}
	const batch, steps = 2, 7
	chunks := []int{3, 1, 2, 1} // positions fed per run: 0–2, 3, 4–5, 6
	for _, cfg := range cfgs {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			t.Run(fmt.Sprintf("%+v/%v", cfg, dt), func(t *testing.T) {
				g := G.NewGraph()
				a, err := NewSelfAttention(g, "attn", cfg, WithDtype(dt), WithSeed(2), WithInit(Normal(0.5)))
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(3, 4))
				xs := make([]float64, batch*steps*cfg.DModel)
				for i := range xs {
					xs[i] = rng.NormFloat64()
				}
				// rows returns x's positions [from, to) of every batch row as a tensor.
				rows := func(from, to int) *tensor.Dense {
					var v []float64
					for b := 0; b < batch; b++ {
						v = append(v, xs[(b*steps+from)*cfg.DModel:(b*steps+to)*cfg.DModel]...)
					}
					return newValue(dt, []int{batch, to - from, cfg.DModel}, v)
				}
				input := func(name string, n int) *G.Node {
					return G.NewTensor(g, dt, 3, G.WithShape(batch, n, cfg.DModel), G.WithName(name))
				}
				run := func(p *graph.Program, nodes ...*G.Node) [][]float64 {
					if err := p.Run(); err != nil {
						t.Fatal(err)
					}
					var out [][]float64
					for _, n := range nodes {
						out = append(out, graphtest.Values(t, p.Value(n)))
					}
					return out
				}
				cache, err := graph.NewKVCache(batch, steps)
				if err != nil {
					t.Fatal(err)
				}
				type pass struct {
					x, out, w *G.Node
					prog      *graph.Program
				}
				passes := map[int]pass{}
				for _, n := range chunks {
					if _, ok := passes[n]; ok {
						continue
					}
					x := input(fmt.Sprintf("cached.x%d", n), n)
					out, w, err := a.Attend(x, AttendInputs{Cache: cache, CacheSlot: 0})
					if err != nil {
						t.Fatal(err)
					}
					p, err := graph.NewProgram(out, w)
					if err != nil {
						t.Fatal(err)
					}
					passes[n] = pass{x, out, w, p}
				}
				dOut := a.Config.DModel
				if !cfg.OutProj {
					dOut = a.Config.DValue
				}
				h := a.Config.Heads
				worst, off := 0.0, 0
				for _, n := range chunks {
					end := off + n
					// the plain layer over the prefix [0, end)
					x := input(fmt.Sprintf("full.x%d", end), end)
					out, w, err := a.Attend(x, AttendInputs{})
					if err != nil {
						t.Fatal(err)
					}
					p, err := graph.NewProgram(out, w)
					if err != nil {
						t.Fatal(err)
					}
					if err := G.Let(x, rows(0, end)); err != nil {
						t.Fatal(err)
					}
					want := run(p, out, w) // (B, end, dOut), (B, H, end, end)
					c := passes[n]
					if err := G.Let(c.x, rows(off, end)); err != nil {
						t.Fatal(err)
					}
					got := run(c.prog, c.out, c.w) // (B, n, dOut), (B, H, n, steps)
					if err := cache.Advance(n); err != nil {
						t.Fatal(err)
					}
					for b := 0; b < batch; b++ {
						for i := 0; i < n; i++ {
							for j := 0; j < dOut; j++ {
								g, w := got[0][(b*n+i)*dOut+j], want[0][(b*end+off+i)*dOut+j]
								worst = math.Max(worst, math.Abs(g-w)/math.Max(1, math.Abs(w)))
							}
							for hd := 0; hd < h; hd++ {
								for k := 0; k < steps; k++ {
									g, w := got[1][((b*h+hd)*n+i)*steps+k], 0.0
									if k < end {
										w = want[1][((b*h+hd)*end+off+i)*end+k]
									}
									if k >= end && g != 0 {
										t.Fatalf("weight of key %d (of %d so far) = %v; want 0", k, end, g)
									}
									worst = math.Max(worst, math.Abs(g-w))
								}
							}
						}
					}
					off = end
				}
				if worst > tol {
					t.Fatalf("cached attention differs from the full layer by %.3g (> %g)", worst, tol)
				}
				// The cache is full now: one more position is an error when the graph runs.
				if err := passes[1].prog.Run(); err == nil {
					t.Fatal("a run past the cache's capacity succeeded")
				}
			})
		}
	}
}
