package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dropout: in training a mask that depends only on (seed, step), kept values scaled by
// 1/(1−p), a gradient that matches central differences (Gorgonia's does not); off, the
// identity.
func TestDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]float64, 40*50)
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float64, G.WithShape(40, 50), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(40, 50), tensor.WithBacking(vals))))
	var mode graph.DropoutMode
	const p = 0.3
	y, err := graph.Dropout(x, p, 7, &mode)
	if err != nil {
		t.Fatal(err)
	}
	r := G.NewMatrix(g, G.Float64, G.WithShape(40, 50), G.WithName("r"),
		G.WithValue(tensor.New(tensor.WithShape(40, 50), tensor.WithBacking(append([]float64(nil), vals...)))))
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, r))))
	m := G.NewTapeMachine(g.SubgraphRoots(y))
	defer m.Close()
	run := func() []float64 {
		t.Helper()
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), y.Value().Data().([]float64)...)
	}
	off := run()
	for i := range off {
		if off[i] != vals[i] {
			t.Fatalf("dropout off changed element %d", i)
		}
	}
	mode.SetTraining(true)
	mode.SetStep(5)
	a, b := run(), run()
	mode.SetStep(6)
	c := run()
	kept, differ := 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the same step drew two masks")
		}
		if a[i] != c[i] {
			differ++
		}
		if a[i] != 0 {
			kept++
			if math.Abs(a[i]-vals[i]/(1-p)) > 1e-15 {
				t.Fatalf("kept element %d = %v; want %v", i, a[i], vals[i]/(1-p))
			}
		}
	}
	if frac := float64(kept) / float64(len(a)); math.Abs(frac-(1-p)) > 0.03 {
		t.Errorf("kept %.3f of the elements; want about %.2f", frac, 1-p)
	}
	if differ == 0 {
		t.Error("step 6 drew the mask of step 5")
	}
	res, err := graph.GradCheck(cost, G.Nodes{x}, graph.GradCheckOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].RelErr > 1e-6 {
		t.Errorf("dropout gradient: %v", res[0])
	}
	t.Logf("gradcheck: dropout p=0.3: %v", res[0])
}
