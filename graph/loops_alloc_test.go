package graph

import (
	"testing"

	"github.com/attend-go/attend/internal/race"
)

// The loops of a one-token decoding step (LayerNorm, GELU, per-head scores and
// apply) stay on the caller and allocate nothing (they allocated one closure each).
func TestDecodeLoopsDoNotAllocate(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	const c, heads, keys, block = 128, 4, 10, 64
	x, y, g := make([]float32, c), make([]float32, c), make([]float32, c)
	for i := range x {
		x[i], g[i] = float32(i%7)-3, 1
	}
	var mean, rstd [1]float64
	q, k := make([]float32, c), make([]float32, block*c)
	for i := range k {
		k[i] = float32(i%5) - 2
	}
	scores := make([]float32, heads*block)
	out := make([]float32, c)
	sd := scoreDims{B: 1, H: heads, Ta: 1, Tb: block, Nk: keys, C: c, W: c / heads}
	ad := applyDims{B: 1, H: heads, T1: 1, T2: block, Rows: 1, Inner: keys, VRows: block, C: c, W: c / heads}
	for _, l := range []struct {
		name string
		f    func()
	}{
		{"layerNorm", func() { layerNormForward(y, x, g, nil, c, 1e-5, mean[:], rstd[:]) }},
		{"gelu", func() { geluForward32(y, x) }},
		{"scores", func() { scoresKernel(scores, q, k, sd, 0.125, scoreMask[float32]{on: true, causal: true}) }},
		{"apply", func() { applyKernel(out, scores, k, ad, 1) }},
	} {
		if a := testing.AllocsPerRun(100, l.f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", l.name, a)
		}
	}
	// The loops computed something: a row of causal softmax weights sums to 1.
	var sum float32
	for _, w := range scores[:keys] {
		sum += w
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("scores row sums to %v, want 1", sum)
	}
}
