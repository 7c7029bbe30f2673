package gpt

import (
	"fmt"
	"math"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/torchrand"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type torchModel struct {
	Config struct {
		Seed         uint64
		Vocab, Block int
		Layers       int `json:"n_layer"`
		Heads        int `json:"n_head"`
		Width        int `json:"n_embd"`
		Bias, Tied   bool
		DataLen      int `json:"data_len"`
	}
	Params map[string]struct {
		Shape      []int
		Head, Tail []float64
		Sum, Sumsq float64
	}
	OffsetsAfter []int64 `json:"offsets_after"`
}

// PyTorch's nanoGPT GPT(config) after torch.manual_seed, recorded by
// scripts/torchrand/gen_golden.py, against New + InitLikeNanoGPT — for nanoGPT's CPU
// model (tied, no biases) and two small ones (biases; untied with sizes that are not
// multiples of 16). The 12 batch offsets drawn afterwards check that the generator is
// left exactly where PyTorch's is.
func TestInitLikeNanoGPTMatchesPyTorch(t *testing.T) {
	var f struct{ Models []torchModel }
	filetest.ReadJSON(t, "../torchrand/testdata/torch_streams.json", &f)
	if len(f.Models) != 3 {
		t.Fatalf("%d models in the golden file, want 3", len(f.Models))
	}
	for _, tm := range f.Models {
		c := tm.Config
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			t.Run(fmt.Sprintf("width%d_%v", c.Width, dt), func(t *testing.T) {
				g := G.NewGraph()
				m, err := New(g, Config{Vocab: c.Vocab, BlockSize: c.Block, Layers: c.Layers, Heads: c.Heads,
					Width: c.Width, Bias: c.Bias, Tied: c.Tied}, layers.WithDtype(dt), layers.WithSeed(99))
				if err != nil {
					t.Fatal(err)
				}
				gen := torchrand.New(c.Seed)
				if err := m.InitLikeNanoGPT(gen); err != nil {
					t.Fatal(err)
				}
				names := map[string]bool{}
				for _, n := range m.Learnables() {
					names[n.Name()] = true
					want, ok := tm.Params[n.Name()]
					if !ok {
						t.Fatalf("%s is not in PyTorch's model", n.Name())
					}
					if fmt.Sprint(want.Shape) != fmt.Sprint([]int(n.Shape())) {
						t.Fatalf("%s: shape %v, PyTorch %v", n.Name(), n.Shape(), want.Shape)
					}
					v := graphtest.Values(t, n.Value())
					check := func(what string, got, want float64, tol float64) {
						if math.Abs(got-want) > tol {
							t.Fatalf("%s %s = %.9g, PyTorch %.9g", n.Name(), what, got, want)
						}
					}
					for i, w := range want.Head {
						check(fmt.Sprintf("[%d]", i), v[i], w, 4e-7*math.Max(math.Abs(w), 0.002))
					}
					for i, w := range want.Tail {
						j := len(v) - len(want.Tail) + i
						check(fmt.Sprintf("[%d]", j), v[j], w, 4e-7*math.Max(math.Abs(w), 0.002))
					}
					var sum, sq float64
					for _, x := range v {
						sum, sq = sum+x, sq+x*x
					}
					check("sum", sum, want.Sum, 1e-6*math.Max(1, math.Abs(want.Sum)))
					check("sum of squares", sq, want.Sumsq, 1e-6*math.Max(1, want.Sumsq))
				}
				if len(names) != len(tm.Params) {
					t.Fatalf("%d learnables, PyTorch's model has %d tensors", len(names), len(tm.Params))
				}
				for i, want := range tm.OffsetsAfter {
					if got, err := gen.RandInt(int64(c.DataLen - c.Block)); err != nil || got != want {
						t.Fatalf("offset %d drawn after the init: %d, PyTorch %d (the generator is not where PyTorch's is)", i, got, want)
					}
				}
			})
		}
	}
}

func TestInitLikeNanoGPTErrors(t *testing.T) {
	g := G.NewGraph()
	m, err := New(g, Config{Vocab: 5, BlockSize: 4, Width: 8, NoAttention: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitLikeNanoGPT(torchrand.New(1)); err == nil {
		t.Error("a model without attention: no error")
	}
	if err := m.InitLikeNanoGPT(nil); err == nil {
		t.Error("nil generator: no error")
	}
}
