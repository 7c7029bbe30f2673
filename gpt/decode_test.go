package gpt_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// decodeCases are the architectures the cached decoder is checked on: every option of
// Config, and the widths and head counts the other tests use.
var decodeCases = []gpt.Config{
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 2, Width: 8, Tied: true},
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 4, Width: 8, Bias: true},
	{Vocab: 11, BlockSize: 9, Layers: 1, Heads: 1, Width: 8},
	{Vocab: 11, BlockSize: 9, Layers: 1, Heads: 1, Width: 8, NoAttention: true},
	{Vocab: 3, BlockSize: 2, Width: 2, Tied: true},
	{Vocab: 7, BlockSize: 6, Layers: 2, Heads: 2, Width: 16, Bias: true, Dropout: 0.3},
	{Vocab: 13, BlockSize: 5, Layers: 1, Heads: 1, Width: 16, Tied: true, Bias: true},
	{Vocab: 65, BlockSize: 16, Layers: 2, Heads: 4, Width: 32, Tied: true},
	{Vocab: 65, BlockSize: 8, Layers: 1, Heads: 2, Width: 64, Tied: true, NoAttention: true},
	{Vocab: 65, BlockSize: 8, Layers: 1, Heads: 4, Width: 128, Tied: true},
	// the modern decoders' parts
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 2, Width: 8, Norm: gpt.NormRMS, MLP: layers.ActSwiGLU},
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 2, Width: 8, Norm: gpt.NormRMSNoGain, MLP: layers.ActReLU2, SoftCap: 3},
	{Vocab: 11, BlockSize: 9, Layers: 1, Heads: 2, Width: 8, Pos: gpt.PosNone, Tied: true},
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 4, Width: 16, Norm: gpt.NormRMS, Pos: gpt.PosRoPE, MLP: layers.ActSwiGLU, KVHeads: 2},
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 4, Width: 16, Norm: gpt.NormRMSNoGain, Pos: gpt.PosRoPE, RoPEStyle: "half", MLP: layers.ActReLU2, KVHeads: 1, QKNorm: true, Windows: "SSSL", ShortWindow: 3},
	{Vocab: 11, BlockSize: 9, Layers: 2, Heads: 2, Width: 8, Pos: gpt.PosALiBi, Windows: "S", ShortWindow: 4},
}

// recompute returns a function giving the logits after a context of at most BlockSize
// tokens from the model's plain forward pass (GPT.Forward, as in training) over the
// whole context, left-aligned in a (1, BlockSize) input.
// decoderRig builds an inference-only LM, the recomputing reference of its logits and
// a decoder of it.
func decoderRig(t *testing.T, cfg gpt.Config, opts ...layers.Option) (*gpt.LM, func(ctx []int) []float64, *gpt.Decoder) {
	t.Helper()
	lm, err := gpt.NewLM(cfg, 0, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := lm.Model.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	return lm, recompute(t, lm.Model), dec
}

func recompute(t *testing.T, m *gpt.Model) func(ctx []int) []float64 {
	t.Helper()
	c := m.Config
	ids := tensor.New(tensor.WithShape(1, c.BlockSize), tensor.Of(tensor.Int))
	in := G.NewTensor(m.WTE.W.Graph(), tensor.Int, 2, G.WithShape(1, c.BlockSize), G.WithName("test.ids"), G.WithValue(ids))
	logits, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(logits)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx []int) []float64 {
		d := ids.Ints()
		clear(d)
		copy(d, ctx)
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		all := graphtest.Values(t, p.Value(logits))
		return all[(len(ctx)-1)*c.Vocab : len(ctx)*c.Vocab]
	}
}

// worstDiff is the largest |a−b| / max(1, |b|).
func worstDiff(a, b []float64) float64 {
	w := 0.0
	for j := range b {
		w = math.Max(w, math.Abs(a[j]-b[j])/math.Max(1, math.Abs(b[j])))
	}
	return w
}

// The key/value-cache decoder gives the logits of the plain forward pass over the whole
// (cropped) context after every token, within the block size and past it, for every
// architecture option, whether tokens come one at a time or several per Feed; and greedy
// generation with it equals greedy generation by recomputing.
func TestDecoderMatchesRecompute(t *testing.T) {
	for _, cfg := range decodeCases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			t.Run(fmt.Sprintf("%+v/%v", cfg, dt), func(t *testing.T) {
				lm, want, dec := decoderRig(t, cfg, layers.WithDtype(dt), layers.WithSeed(9), layers.WithInit(layers.Normal(0.3)))
				rng := rand.New(rand.NewPCG(1, 2))
				ids := make([]int, 3*cfg.BlockSize+4)
				for i := range ids {
					ids[i] = rng.IntN(cfg.Vocab)
				}
				// Feed sizes: a prompt, single tokens, a few at once (stepped), and at
				// once past the block size (the window slides by several).
				sizes := []int{min(3, cfg.BlockSize)}
				for sum := sizes[0]; sum < len(ids); {
					n := 1
					switch len(sizes) % 5 {
					case 2:
						n = 2
					case 4:
						n = cfg.BlockSize/2 + 1
					}
					n = min(n, len(ids)-sum)
					sizes = append(sizes, n)
					sum += n
				}
				worst, fed := 0.0, 0
				for _, n := range sizes {
					var got []float64
					var err error
					if n == 1 {
						got, err = dec.Next(ids[fed])
					} else {
						got, err = dec.Feed(ids[fed : fed+n])
					}
					if err != nil {
						t.Fatal(err)
					}
					fed += n
					if want, got := min(fed, cfg.BlockSize), dec.Len(); got != want {
						t.Fatalf("after %d tokens the decoder holds %d; want %d", fed, got, want)
					}
					worst = math.Max(worst, worstDiff(got, want(ids[max(0, fed-cfg.BlockSize):fed])))
				}
				if worst > tol {
					t.Fatalf("cached logits differ from the recomputed ones by %.3g (> %g)", worst, tol)
				}
				t.Logf("worst difference %.3g over %d tokens", worst, fed)
				if _, err := dec.Next(cfg.Vocab); err == nil {
					t.Fatal("a token outside the vocabulary was accepted")
				}
				if _, err := dec.Feed(nil); err == nil {
					t.Fatal("an empty Feed was accepted")
				}
				n := 2*cfg.BlockSize + 3
				a, err := lm.Generate(ids[:3], n, 0, 0, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := gpt.GenerateRecompute(lm, ids[:3], n, 0, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(a, b) {
					t.Fatalf("cached generation %v, recomputed %v", a, b)
				}
			})
		}
	}
}

// A decoder reads the model's weights where they are: a weight changed in place, or
// replaced with gorgonia.Let, changes the next pass from position 0.
func TestDecoderSeesWeightChanges(t *testing.T) {
	cfg := gpt.Config{Vocab: 7, BlockSize: 4, Layers: 1, Heads: 2, Width: 8}
	lm, want, dec := decoderRig(t, cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(3))
	ctx := []int{1, 2, 3}
	head := lm.Model.Head.W
	head.Value().(*tensor.Dense).Float64s()[0] += 1 // in place, as the optimiser does
	got, err := dec.Feed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := worstDiff(got, want(ctx)); d > 1e-12 {
		t.Fatalf("after an in-place change the decoder differs by %.3g", d)
	}
	v := tensor.New(tensor.WithShape(head.Shape().Clone()...), tensor.WithBacking(make([]float64, head.Shape().TotalSize())))
	if err := G.Let(head, v); err != nil { // a new tensor, as loading PyTorch weights does
		t.Fatal(err)
	}
	dec.Reset()
	if got, err = dec.Feed(ctx); err != nil {
		t.Fatal(err)
	}
	if d := worstDiff(got, want(ctx)); d > 1e-12 || got[0] != 0 {
		t.Fatalf("after gorgonia.Let the decoder differs by %.3g (logit 0 = %v; want 0)", d, got[0])
	}
}

// Generate, NextLogits and Attention may be called from many goroutines at once: each
// gets its own decoding state, and each goroutine's output equals a sequential call's.
// Run it with -race (.ci/run does).
func TestGenerateConcurrent(t *testing.T) {
	cfg := gpt.Config{Vocab: 17, BlockSize: 8, Layers: 2, Heads: 2, Width: 16, Tied: true}
	lm, err := gpt.NewLM(cfg, 0, layers.WithSeed(5), layers.WithInit(layers.Normal(0.3)))
	if err != nil {
		t.Fatal(err)
	}
	const workers, n = 8, 3 * 8 // each goes well past the block size
	type result struct {
		tokens []int
		logits []float64
		attn   [][][][]float64
	}
	run := func(i int) (result, error) {
		prompt := []int{i % cfg.Vocab, (3 * i) % cfg.Vocab}
		toks, err := lm.Generate(prompt, n, 1, 5, rand.New(rand.NewPCG(uint64(i), 7)), nil)
		if err != nil {
			return result{}, err
		}
		logits, err := lm.NextLogits(append(prompt, toks...))
		if err != nil {
			return result{}, err
		}
		attn, err := lm.Attention(toks[:cfg.BlockSize])
		return result{toks, logits, attn}, err
	}
	want := make([]result, workers)
	for i := range want {
		if want[i], err = run(i); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]result, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 2; rep++ { // again, on a decoder another goroutine used
				if got[i], errs[i] = run(i); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("goroutine %d: generated %v, sequential %v", i, got[i].tokens, want[i].tokens)
		}
	}
}

// BenchmarkGenerate measures generated tokens/s with the key/value cache against a full
// forward pass per token, for the nanogpt-cpu model (block 64), from a 1-token prompt:
// 63 tokens fill the block ("in-block"); 191 tokens slide the window for 128 of them,
// where the cache must be refilled for every token, as absolute position embeddings
// shift ("sliding").
func BenchmarkGenerate(b *testing.B) {
	cfg := gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}
	lm, err := gpt.NewLM(cfg, 0, layers.WithDtype(tensor.Float32), layers.WithSeed(1))
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
						_, err = gpt.GenerateRecompute(lm, []int{0}, n, 1, 0, rng)
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
