package graph_test

import (
	"errors"
	"testing"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Misuse of a key/value cache is one error wrapping the sentinel it names, when the
// graph is built, or when it runs for what depends on the cache's length.
func TestKVCacheErrors(t *testing.T) {
	if _, err := graph.NewKVCache(0, 4); !errors.Is(err, graph.ErrArgument) {
		t.Fatalf("batch 0: %v", err)
	}
	g := G.NewGraph()
	node := func(dt tensor.Dtype, name string, shape ...int) *G.Node {
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithInit(G.RangedFrom(0)))
	}
	f64 := func(name string, shape ...int) *G.Node { return node(tensor.Float64, name, shape...) }
	c, err := graph.NewKVCache(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	q, k, v := f64("q", 2, 1, 4), f64("k", 2, 1, 4), f64("v", 2, 1, 6)
	mask := node(tensor.Float64, "mask", 1, 3)
	for _, tc := range []struct {
		name string
		want error
		err  func() error
	}{
		{"mask", graph.ErrArgument, func() error {
			_, _, err := graph.Attention(q, k, v, graph.AttentionOpts{Cache: c, Mask: mask})
			return err
		}},
		{"negative slot", graph.ErrArgument, func() error {
			_, _, err := graph.Attention(q, k, v, graph.AttentionOpts{Cache: c, CacheSlot: -1})
			return err
		}},
		{"keys of other positions", graph.ErrShape, func() error {
			_, _, err := graph.Attention(q, f64("k2", 2, 2, 4), f64("v2", 2, 2, 6), graph.AttentionOpts{Cache: c})
			return err
		}},
		{"other batch", graph.ErrShape, func() error {
			_, _, err := graph.Attention(f64("q3", 3, 1, 4), f64("k3", 3, 1, 4), f64("v3", 3, 1, 6), graph.AttentionOpts{Cache: c})
			return err
		}},
		{"more positions than the capacity", graph.ErrShape, func() error {
			_, _, err := graph.Attention(f64("q4", 2, 4, 4), f64("k4", 2, 4, 4), f64("v4", 2, 4, 6), graph.AttentionOpts{Cache: c})
			return err
		}},
		{"slot of another width", graph.ErrShape, func() error {
			if _, _, err := graph.Attention(q, k, v, graph.AttentionOpts{Cache: c, CacheSlot: 1}); err != nil {
				return err
			}
			_, _, err := graph.Attention(f64("q5", 2, 1, 8), f64("k5", 2, 1, 8), f64("v5", 2, 1, 6), graph.AttentionOpts{Cache: c, CacheSlot: 1})
			return err
		}},
		{"slot of another dtype", graph.ErrDtype, func() error {
			f32 := func(name string, shape ...int) *G.Node { return node(tensor.Float32, name, shape...) }
			_, _, err := graph.Attention(f32("q6", 2, 1, 4), f32("k6", 2, 1, 4), f32("v6", 2, 1, 6), graph.AttentionOpts{Cache: c, CacheSlot: 1})
			return err
		}},
		{"nil cache for positions", graph.ErrArgument, func() error {
			_, err := graph.AddPositionsAt(q, f64("pos", 3, 4), nil)
			return err
		}},
		{"advance past the capacity", graph.ErrArgument, func() error { return c.Advance(4) }},
	} {
		if err := tc.err(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}

	// At run time: positions past the table, and a full cache.
	out, _, err := graph.Attention(q, k, v, graph.AttentionOpts{Cache: c, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := graph.AddPositionsAt(q, f64("pos2", 2, 4), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(mustSum(t, out), q); err == nil {
		t.Error("a gradient through a cached attention was built")
	}
	p, err := graph.NewProgram(out, pos)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := p.Run(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if err := c.Advance(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Run(); !errors.Is(graph.Cause(err), graph.ErrArgument) {
		t.Fatalf("position 2 of a 2-row table: %v", err)
	}
	c.Reset()
	if err := p.Run(); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if c.Len() != 0 || c.Cap() != 3 || c.Batch() != 2 {
		t.Fatalf("Len %d, Cap %d, Batch %d", c.Len(), c.Cap(), c.Batch())
	}
}

func mustSum(t *testing.T, n *G.Node) *G.Node {
	t.Helper()
	s, err := G.Sum(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
