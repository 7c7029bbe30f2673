package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// geluRun returns GELU(x) and ∂Σ(GELU(x)⊙r)/∂x in the given dtype.
func geluRun(t *testing.T, dt tensor.Dtype, xs, rs []float64) (y, dx []float64) {
	t.Helper()
	g := G.NewGraph()
	mk := func(name string, v []float64) *G.Node {
		var val *tensor.Dense
		if dt == tensor.Float64 {
			val = tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(append([]float64(nil), v...)))
		} else {
			f := make([]float32, len(v))
			for i, x := range v {
				f[i] = float32(x)
			}
			val = tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(f))
		}
		return G.NewVector(g, dt, G.WithShape(len(v)), G.WithName(name), G.WithValue(val))
	}
	x, r := mk("x", xs), mk("r", rs)
	out, err := graph.GELU(x)
	if err != nil {
		t.Fatal(err)
	}
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(out, r))))
	grads, err := G.Grad(cost, x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return graphtest.Values(t, out.Value()), graphtest.Values(t, grads[0].Value())
}

// GELU is PyTorch's exact x·Φ(x): float64 against math.Erf by hand, float32 (which uses
// faster erf and exp) against float64, forward and backward, over a wide range.
func TestGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 5000
	xs, rs := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = float64(float32((rng.Float64()*2 - 1) * 12))
		rs[i] = float64(float32(rng.NormFloat64()))
	}
	xs[0], xs[1], xs[2] = 0, -30, 30
	y64, d64 := geluRun(t, tensor.Float64, xs, rs)
	for i, x := range xs {
		want := x * 0.5 * (1 + math.Erf(x/math.Sqrt2))
		dwant := rs[i] * (0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi))
		if math.Abs(y64[i]-want) > 1e-15*(1+math.Abs(want)) || math.Abs(d64[i]-dwant) > 1e-14*(1+math.Abs(dwant)) {
			t.Fatalf("float64 GELU at %v: %v, %v; want %v, %v", x, y64[i], d64[i], want, dwant)
		}
	}
	y32, d32 := geluRun(t, tensor.Float32, xs, rs)
	for i := range xs {
		if math.Abs(y32[i]-y64[i]) > 2e-6*(1+math.Abs(y64[i])) || math.Abs(d32[i]-d64[i]) > 2e-6*(1+math.Abs(d64[i])) {
			t.Fatalf("float32 GELU at %v: %v, %v; float64 %v, %v", xs[i], y32[i], d32[i], y64[i], d64[i])
		}
	}
}
