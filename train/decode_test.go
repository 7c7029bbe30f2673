package train_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"gorgonia.org/tensor"
)

// The key/value-cache decoder gives the logits of the graph's forward pass at every
// position, for every architecture option, and generation with it equals generation by
// recomputing, past the block size too.
func TestDecoderMatchesGraph(t *testing.T) {
	cases := []struct {
		cfg layers.GPTConfig
		dt  tensor.Dtype
		tol float64
	}{
		{layers.GPTConfig{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 2, Width: 8, Tied: true}, tensor.Float64, 1e-10},
		{layers.GPTConfig{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 4, Width: 8, Bias: true}, tensor.Float64, 1e-10},
		{layers.GPTConfig{Vocab: 11, BlockSize: 9, Layers: 1, Heads: 1, Width: 8, NoAttention: true}, tensor.Float64, 1e-10},
		{layers.GPTConfig{Vocab: 65, BlockSize: 16, Layers: 2, Heads: 4, Width: 32, Tied: true}, tensor.Float32, 2e-4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v/%v", c.cfg, c.dt), func(t *testing.T) {
			lm, err := train.NewLM(c.cfg, 0, layers.WithDtype(c.dt), layers.WithSeed(9), layers.WithInit(layers.Normal(0.3)))
			if err != nil {
				t.Fatal(err)
			}
			dec, err := lm.Model.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			ids := make([]int, c.cfg.BlockSize)
			for i := range ids {
				ids[i] = rng.IntN(c.cfg.Vocab)
			}
			worst := 0.0
			for i, id := range ids {
				got, err := dec.Next(id)
				if err != nil {
					t.Fatal(err)
				}
				want, err := lm.NextLogits(ids[:i+1])
				if err != nil {
					t.Fatal(err)
				}
				for j := range want {
					worst = math.Max(worst, math.Abs(got[j]-want[j])/math.Max(1, math.Abs(want[j])))
				}
			}
			if worst > c.tol {
				t.Fatalf("decoder logits differ from the graph's by %.3g (> %g)", worst, c.tol)
			}
			if _, err := dec.Next(0); err == nil {
				t.Fatal("a full cache accepted another token")
			}
			if _, err := dec.Next(c.cfg.Vocab); err == nil {
				t.Fatal("a token outside the vocabulary was accepted")
			}
			if c.dt == tensor.Float64 { // greedy generation is the same either way, past the block size
				n := 2*c.cfg.BlockSize + 3
				a, err := lm.Generate(ids[:3], n, 0, 0, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := train.GenerateRecompute(lm, ids[:3], n, 0, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Fatalf("cached generation %v, recomputed %v", a, b)
				}
			}
		})
	}
}

// BenchmarkGenerate measures generated tokens/s with the key/value cache against a full
// forward pass per token, for the nanogpt-cpu model (block 64), from a 1-token prompt:
// 63 tokens fill the block ("in-block"); 191 tokens slide the window for 128 of them,
// where the cache must be refilled for every token, as absolute position embeddings
// shift ("sliding").
func BenchmarkGenerate(b *testing.B) {
	cfg := layers.GPTConfig{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}
	lm, err := train.NewLM(cfg, 0, layers.WithDtype(tensor.Float32), layers.WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	for _, run := range []struct {
		name string
		n    int
	}{{"in-block", 63}, {"sliding", 191}} {
		for _, mode := range []string{"kvcache", "recompute"} {
			b.Run(run.name+"/"+mode, func(b *testing.B) {
				n := run.n
				rng := rand.New(rand.NewPCG(1, 1))
				for i := 0; i < b.N; i++ {
					var err error
					if mode == "kvcache" {
						_, err = lm.Generate([]int{0}, n, 1, 0, rng, nil)
					} else {
						_, err = train.GenerateRecompute(lm, []int{0}, n, 1, 0, rng)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
