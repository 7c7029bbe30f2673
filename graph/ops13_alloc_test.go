package graph

import (
	"testing"

	"github.com/attend-go/attend/internal/race"
)

// The forward loops of RMSNorm and the elementwise activations stay on the caller for
// one decoding step's row and allocate nothing.
func TestOps13LoopsDoNotAllocate(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	const c = 256
	x, b, y, g := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	for i := range x {
		x[i], b[i], g[i] = float32(i%7)-3, float32(i%3), 1
	}
	for _, l := range []struct {
		name string
		f    func()
	}{
		{"rmsNorm", func() { rmsNormForward(y, x, g, c, 1e-5) }},
		{"rmsNorm/no-gain", func() { rmsNormForward(y, x, nil, c, 1e-5) }},
		{"silu", func() { elementwise(siluForward[float32], 12, 0, y, x, nil, nil) }},
		{"swiglu", func() { elementwise(swigluForward[float32], 14, 0, y, x, b, nil) }},
		{"relu2", func() { elementwise(relu2Forward[float32], 2, 0, y, x, nil, nil) }},
		{"softcap", func() { elementwise(softCapForward[float32], 20, 15, y, x, nil, nil) }},
	} {
		if a := testing.AllocsPerRun(100, l.f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", l.name, a)
		}
	}
	// The last loop computed something: 15·tanh(x/15) of x = 3 (i = 6).
	if y[6] < 2.9605 || y[6] > 2.9607 {
		t.Errorf("softcap(3) = %v, want ≈ 2.9606", y[6])
	}
}
