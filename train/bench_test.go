package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"gorgonia.org/tensor"
)

// benchPresets are the sizes of ../shared/peer/gpt_step.py's presets.
var benchPresets = []struct {
	name                               string
	layers, heads, width, block, batch int
	lr                                 float64
}{
	{"seed", 1, 1, 2, 3, 1, 1e-1},
	{"nanogpt-cpu", 4, 4, 128, 64, 12, 1e-3},
}

// BenchmarkTrainStep times one full float32 training step — batch sampling, forward,
// backward, global-norm clipping and AdamW — on random tokens over 65 symbols, as the
// PyTorch peer does without --data.
func BenchmarkTrainStep(b *testing.B) {
	for _, p := range benchPresets {
		b.Run(p.name, func(b *testing.B) {
			const vocab = 65
			rng := rand.New(rand.NewPCG(1337, 0))
			data := make([]int, 100_000)
			for i := range data {
				data[i] = rng.IntN(vocab)
			}
			sampler, err := datasets.NewSampler(data, p.batch, p.block, 1337)
			if err != nil {
				b.Fatal(err)
			}
			cfg := gpt.Config{Vocab: vocab, BlockSize: p.block, Layers: p.layers, Heads: p.heads, Width: p.width, Tied: true}
			lm, err := gpt.NewLM(cfg, p.batch, layers.WithDtype(tensor.Float32), layers.WithSeed(1337))
			if err != nil {
				b.Fatal(err)
			}
			tr, err := train.NewTrainer(lm, train.Config{
				Steps:    1 << 30,
				Schedule: train.CosineSchedule{MaxLR: p.lr, MinLR: p.lr},
				AdamW:    train.AdamWConfig{LR: p.lr, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1},
				Clip:     1,
			}, sampler, sampler)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 5; i++ { // warm-up, as the peer does
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*p.batch*p.block)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
