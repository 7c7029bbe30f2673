package gpt_test

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMemoryParamsExact: the estimate's parameter count is the built model's.
func TestMemoryParamsExact(t *testing.T) {
	for _, c := range []gpt.Config{
		{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true},
		{Vocab: 11, BlockSize: 16, Layers: 2, Heads: 2, Width: 32, Bias: true},
		{Vocab: 7, BlockSize: 5, Layers: 3, Heads: 1, Width: 12, NoAttention: true, Bias: true},
		{Vocab: 7, BlockSize: 5, Heads: 3, Width: 12, NoAttention: true, Tied: true},
	} {
		lm, err := gpt.NewLM(c, 0)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Memory(0, tensor.Float32, false)
		if err != nil {
			t.Fatal(err)
		}
		if m.Params != int64(lm.Model.NumParams()) {
			t.Errorf("%+v: estimate %d parameters, model has %d", c, m.Params, lm.Model.NumParams())
		}
		if m.Weights != 4*m.Params || m.Gradients != 0 || m.Optimizer != 0 {
			t.Errorf("%+v: inference-only estimate %+v", c, m)
		}
	}
}

// TestMemoryMatchesGraph: the estimate of the intermediate values and gradients is the
// number of elements of the computed nodes of gpt.NewLM's graph and of one decoder's
// pass over a window with its key/value cache (a change to the model's graph that moves
// this should move the constants in memory.go too).
func TestMemoryMatchesGraph(t *testing.T) {
	for _, c := range []struct {
		cfg   gpt.Config
		batch int
	}{
		{gpt.Config{Vocab: 65, BlockSize: 32, Layers: 2, Heads: 4, Width: 64, Tied: true}, 8},
		{gpt.Config{Vocab: 11, BlockSize: 16, Layers: 3, Heads: 2, Width: 32, Bias: true}, 4},
		{gpt.Config{Vocab: 300, BlockSize: 8, Layers: 1, Heads: 1, Width: 16}, 2},
		{gpt.Config{Vocab: 11, BlockSize: 16, Layers: 3, Heads: 2, Width: 32, NoAttention: true}, 4},
		{gpt.Config{Vocab: 11, BlockSize: 16, Layers: 3, Heads: 2, Width: 32}, 0},
		{gpt.Config{Vocab: 11, BlockSize: 16, Layers: 2, Heads: 2, Width: 32, Dropout: 0.1}, 4},
		{gpt.Config{Vocab: 11, BlockSize: 16, Layers: 2, Heads: 2, Width: 32, Dropout: 0.1, NoAttention: true}, 4},
	} {
		lm, err := gpt.NewLM(c.cfg, c.batch)
		if err != nil {
			t.Fatal(err)
		}
		nodes := 0
		for _, n := range lm.Graph.AllNodes() {
			if n.Op() != nil && !isWeightsNode(n) {
				nodes += n.Shape().TotalSize()
			}
		}
		nodes += decoderElements(t, c.cfg)
		nodes = int(math.Ceil(gpt.ArenaFraction*float64(nodes-params(lm)))) + params(lm) // what the Programs hold at once
		m, err := c.cfg.Memory(c.batch, tensor.Float64, false)
		if err != nil {
			t.Fatal(err)
		}
		est := float64(m.Activations+m.Gradients) / 8
		if r := est / float64(nodes); r < 0.9 || r > 1.1 {
			t.Errorf("%+v batch %d: estimate %.0f elements, the graph computes %d (ratio %.3f)", c.cfg, c.batch, est, nodes, r)
		} else {
			t.Logf("%+v batch %d: estimate %.0f elements, the graph computes %d (ratio %.3f)", c.cfg, c.batch, est, nodes, r)
		}
	}
}

// TestMemoryMatchesHeap builds nanogpt-cpu's model (width 128, 4 layers, block 64, batch
// 12, vocabulary 65) with AdamW, takes two steps and compares the live heap with the
// estimate.
func TestMemoryMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nanogpt-cpu's model")
	}
	cfg := gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}
	const batch = 12
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	lm, err := gpt.NewLM(cfg, batch)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := train.NewAdamW(train.AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int, batch*64), make([]int, batch*64)
	for i := range x {
		x[i], y[i] = i%65, (i+1)%65
	}
	for i := 0; i < 2; i++ {
		if _, err := lm.Backward(0, x, y); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(lm.ValueGrads(), 1e-3); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(lm)
	runtime.KeepAlive(opt)
	live := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	m, err := cfg.Memory(batch, tensor.Float32, true)
	if err != nil {
		t.Fatal(err)
	}
	r := float64(m.Total()) / live
	t.Logf("estimate %s; live heap %s (ratio %.2f)", m, gpt.FormatBytes(int64(live)), r)
	if r < 0.5 || r > 2 {
		t.Errorf("estimate %s is not within a factor 2 of the live heap %s", m, gpt.FormatBytes(int64(live)))
	}
}

// TestCheckMemoryRefuses: sizes that overflow, exceed the bounds or the memory are
// refused naming the field, before anything is allocated.
func TestCheckMemoryRefuses(t *testing.T) {
	base := gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}
	const gb = int64(1e9)
	cases := []struct {
		name  string
		edit  func(*gpt.Config)
		batch int
		field string
		limit bool // a bound, not the machine's memory
	}{
		{"n_embd 2^40", func(c *gpt.Config) { c.Width = 1 << 40 }, 12, "n_embd", true},
		{"n_embd 2^31", func(c *gpt.Config) { c.Width = 1 << 31 }, 12, "n_embd", true},
		{"block_size 1e12", func(c *gpt.Config) { c.BlockSize = 1e12 }, 12, "block_size", true},
		{"n_layer 1e6", func(c *gpt.Config) { c.Layers = 1e6 }, 12, "n_layer", true},
		{"width 1e6", func(c *gpt.Config) { c.Width = 1e6 }, 12, "n_embd", false},
		{"batch 1e8", func(*gpt.Config) {}, 1e8, "batch", false},
		{"block 1e5", func(c *gpt.Config) { c.BlockSize = 1e5 }, 12, "block_size", false},
		{"vocab 1e9", func(c *gpt.Config) { c.Vocab = 1e9 }, 12, "vocab", false},
		{"batch maxint", func(*gpt.Config) {}, math.MaxInt, "batch", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.edit(&cfg)
			_, err := cfg.CheckMemory(c.batch, tensor.Float32, true, 16*gb)
			var me *gpt.MemoryError
			if !errors.As(err, &me) || !errors.Is(err, attend.ErrArgument) {
				t.Fatalf("error %v; want a *MemoryError", err)
			}
			if me.Field != c.field || (me.Limit != "") != c.limit {
				t.Errorf("%v: field %q, limit %q; want field %q, limit %v", err, me.Field, me.Limit, c.field, c.limit)
			}
			if !c.limit && (me.Need.Total() <= 16*gb || me.Available != 16*gb) {
				t.Errorf("%v: need %d, available %d", err, me.Need.Total(), me.Available)
			}
			t.Log(err)
		})
	}
	if m, err := base.CheckMemory(12, tensor.Float32, true, 16*gb); err != nil || m.Total() < 50e6 || m.Total() > 200e6 {
		t.Errorf("nanogpt-cpu: %v, %v", m, err)
	}
	if _, err := base.CheckMemory(12, tensor.Float32, true, 10e6); err == nil {
		t.Errorf("nanogpt-cpu fits in 10 MB")
	}
}

func TestAvailableMemory(t *testing.T) {
	n, src := gpt.AvailableMemory()
	if runtime.GOOS == "linux" && (n < 1e8 || src == "unknown") {
		t.Errorf("AvailableMemory() = %d, %q on Linux", n, src)
	}
	t.Logf("%s from %s", gpt.FormatBytes(n), src)
}

// decoderElements counts what a gpt.Decoder holds besides the weights: the computed
// nodes of Model.ApplyCached over a (1, BlockSize) window, as NewDecoder builds it (no
// dropout), and the keys and values of its cache. Its one-token pass, 1/BlockSize of
// that, is left out here and in the estimate.
func decoderElements(t *testing.T, cfg gpt.Config) int {
	t.Helper()
	cfg.Dropout = 0
	g := G.NewGraph()
	m, err := gpt.New(g, cfg, layers.WithDtype(tensor.Float64))
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.NewKVCache(1, cfg.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	ids := G.NewTensor(g, tensor.Int, 2, G.WithShape(1, cfg.BlockSize), G.WithName("ids"))
	if _, _, err := m.ApplyCached(ids, c); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range g.AllNodes() {
		if node.Op() != nil && !isWeightsNode(node) {
			n += node.Shape().TotalSize()
		}
	}
	if !cfg.NoAttention {
		n += 2 * len(m.Blocks) * cfg.BlockSize * cfg.Width // the cache's keys and values
	}
	return n
}

// isWeightsNode reports an attention-weights node, which the passes that train, evaluate
// and decode never compute (FlashWeights runs only when the weights are asked for).
func isWeightsNode(n *G.Node) bool { return strings.HasPrefix(n.Op().String(), "attend.FlashWeights") }

// params is the gradient elements of lm's training pass (one per learnable number, and
// the tied table's second), which the estimate counts outside the shared arena.
func params(lm *gpt.LM) int {
	if lm.Batch == 0 {
		return 0
	}
	n := 0
	for _, p := range lm.Params {
		n += p.Shape().TotalSize()
	}
	if lm.Model.Config.Tied {
		n += 2 * lm.Model.Config.Vocab * lm.Model.Config.Width
	}
	return n
}
