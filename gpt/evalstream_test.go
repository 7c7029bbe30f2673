package gpt_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/internal/race"
	"github.com/attend-go/attend/layers"
	"gorgonia.org/tensor"
)

// EvaluateStream over 11 windows with batch 3 (the last batch padded) equals the mean of
// the 11 windows evaluated one by one by a batch-1 LM with the same weights.
func TestEvaluateStream(t *testing.T) {
	cfg := gpt.Config{Vocab: 7, BlockSize: 4, Layers: 1, Heads: 2, Width: 8, Tied: true}
	opts := []layers.Option{layers.WithSeed(3), layers.WithDtype(tensor.Float64)}
	lm3, err := gpt.NewLM(cfg, 3, opts...)
	if err != nil {
		t.Fatal(err)
	}
	lm1, err := gpt.NewLM(cfg, 1, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, 46) // windows start at 0, 4, …, 40: 11 of them; 44 and 45 are left over
	for i := range ids {
		ids[i] = (i*i + 3*i) % 7
	}
	loss, acc, err := lm3.EvaluateStream(ids)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var correct, total int
	for w := 0; w+4 < len(ids); w += 4 {
		l, c, n, err := lm1.Evaluate(ids[w:w+4], ids[w+1:w+5])
		if err != nil {
			t.Fatal(err)
		}
		sum, correct, total = sum+l*float64(n), correct+c, total+n
	}
	if total != 44 {
		t.Fatalf("%d targets in the reference loop, want 44", total)
	}
	if want := sum / float64(total); math.Abs(loss-want) > 1e-12 {
		t.Errorf("loss %.15g, window by window %.15g", loss, want)
	}
	if want := float64(correct) / float64(total); acc != want {
		t.Errorf("accuracy %v, want %v", acc, want)
	}
	if _, _, err := lm3.EvaluateStream(ids[:4]); err == nil {
		t.Error("4 tokens for block 4: no error")
	}
}

// Evaluate reads the logits in place: an evaluation batch allocates a few small objects
// (the Program's run bookkeeping), not a float64 copy of the B·T·V logits.
func TestEvaluateAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop the GEMM workspaces: allocations mean nothing")
	}
	cfg := gpt.Config{Vocab: 65, BlockSize: 32, Layers: 1, Heads: 2, Width: 32, Tied: true}
	lm, err := gpt.NewLM(cfg, 4, layers.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int, 4*32), make([]int, 4*32)
	for i := range x {
		x[i], y[i] = i%65, (i+1)%65
	}
	if _, _, _, err := lm.Evaluate(x, y); err != nil { // the first run makes the buffers
		t.Fatal(err)
	}
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		if _, _, _, err := lm.Evaluate(x, y); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perRun := float64(after.TotalAlloc-before.TotalAlloc) / runs
	logitsCopy := float64(4 * 32 * 65 * 8)
	t.Logf("%.0f bytes allocated per evaluation batch (a float64 copy of the logits: %.0f)", perRun, logitsCopy)
	if perRun > logitsCopy/4 {
		t.Errorf("%.0f bytes allocated per evaluation batch; want under a quarter of the logits' %.0f", perRun, logitsCopy)
	}
}
