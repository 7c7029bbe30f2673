package graph_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkAttentionStep times one forward and backward pass of causal self-attention
// (B = 12, H = 4, d = 32, float32) with the tiled FlashAttention and with the fused
// Attention it can replace, at T = 64 and T = 1024. live-MB is the heap the graph holds
// after a step (its inputs, every op's output buffer and scratch), measured after a GC.
func BenchmarkAttentionStep(b *testing.B) {
	for _, T := range []int{64, 1024} {
		for _, impl := range []string{"flash", "fused"} {
			b.Run(fmt.Sprintf("T=%d/%s", T, impl), func(b *testing.B) { benchAttention(b, T, impl, 0, 0) })
		}
	}
}

// BenchmarkFlashTiles is BenchmarkAttentionStep's T = 1024 flash step for several tile
// sizes (BlockQ × BlockK; 0 × 0 is the default).
func BenchmarkFlashTiles(b *testing.B) {
	for _, tiles := range [][2]int{{0, 0}, {32, 32}, {32, 128}, {128, 64}, {128, 128}, {256, 64}} {
		b.Run(fmt.Sprintf("%dx%d", tiles[0], tiles[1]), func(b *testing.B) { benchAttention(b, 1024, "flash", tiles[0], tiles[1]) })
	}
}

func benchAttention(b *testing.B, T int, impl string, bq, bk int) {
	const B, H, D = 12, 4, 32
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := G.NewGraph()
	r := newRand(1)
	s := tensor.Shape{B, T, H * D}
	in := func(name string) *G.Node {
		return graphtest.Input(g, tensor.Float32, name, s, graphtest.Normals(r, s.TotalSize(), 1))
	}
	q, k, v, w := in("q"), in("k"), in("v"), in("w")
	var out *G.Node
	var err error
	if impl == "flash" {
		out, err = graph.FlashAttention(q, k, v, graph.FlashOpts{Heads: H, Causal: true, BlockQ: bq, BlockK: bk})
	} else {
		out, _, err = graph.Attention(q, k, v, graph.AttentionOpts{Heads: H, Causal: true})
	}
	if err != nil {
		b.Fatal(err)
	}
	prod, err := G.HadamardProd(out, w)
	if err != nil {
		b.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := G.Grad(cost, q, k, v); err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	step := func() {
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
		m.Reset()
	}
	step()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "live-MB")
	runtime.KeepAlive(g)
}
