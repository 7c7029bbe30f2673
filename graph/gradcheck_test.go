package graph_test

import (
	"errors"
	"math"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGradCheckSoftMax checks the gradients of SoftMax and LogSoftMax for every shape
// and mask layout, a fully blocked row included. Costs: Σ y ⊙ r for SoftMax and for
// unmasked LogSoftMax; Σ exp(y ⊙ r) with r > 0 for masked LogSoftMax, which keeps the
// cost finite where y = −Inf.
func TestGradCheckSoftMax(t *testing.T) {
	for i, c := range softmaxCases() {
		for _, log := range []bool{false, true} {
			t.Run(opName(log)+"/"+c.name, func(t *testing.T) {
				r := newRand(uint64(1000 + i))
				g := G.NewGraph()
				x, mask, _ := c.build(t, g, tensor.Float64, r, 1.5)
				y := graphtest.Must(t)(softmaxOp(log)(x, mask))
				n := c.shape.TotalSize()
				var cost *G.Node
				if log && mask != nil {
					rv := graphtest.Input(g, tensor.Float64, "r", c.shape, graphtest.Uniforms(r, n, 0.5, 1.5))
					cost = graphtest.Must(t)(G.Sum(graphtest.Must(t)(G.Exp(graphtest.Must(t)(G.HadamardProd(y, rv))))))
				} else {
					rv := graphtest.Input(g, tensor.Float64, "r", c.shape, graphtest.Uniforms(r, n, -1, 1))
					cost = graphtest.WeightedSum(t, y, rv)
				}
				graphtest.CheckGrads(t, cost, G.Nodes{x})
			})
		}
	}
}

// TestGradCheckCrossEntropy checks CrossEntropy's gradient, with ignored (−1) targets.
func TestGradCheckCrossEntropy(t *testing.T) {
	for i, c := range []struct {
		name    string
		shape   tensor.Shape
		targets []int
	}{
		{"(N,V)", tensor.Shape{4, 5}, []int{0, 4, 2, 1}},
		{"(N,V)/ignored", tensor.Shape{5, 4}, []int{3, -1, 0, -1, 2}},
		{"(B,T,V)/ignored", tensor.Shape{2, 3, 4}, []int{3, -1, 0, 1, 2, -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			logits := graphtest.Input(g, tensor.Float64, "logits", c.shape, graphtest.Normals(newRand(uint64(1100+i)), c.shape.TotalSize(), 2))
			targets := graphtest.IntInput(g, "targets", c.shape[:len(c.shape)-1], c.targets)
			graphtest.CheckGrads(t, graphtest.Must(t)(graph.CrossEntropy(logits, targets)), G.Nodes{logits})
		})
	}
}

// TestGradCheckAttention checks the gradients of Attention with respect to q, k and v
// for every case of attnCases, with the cost Σ out ⊙ r.
func TestGradCheckAttention(t *testing.T) {
	for i, c := range attnCases() {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			a := c.build(t, g, tensor.Float64, uint64(1200+i))
			r := graphtest.Input(g, tensor.Float64, "r", a.out.Shape(), graphtest.Uniforms(newRand(uint64(1300+i)), a.out.Shape().TotalSize(), -1, 1))
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, a.out, r), G.Nodes{a.q, a.k, a.v})
		})
	}
	// The weights node is an output too: a cost that uses both must get both paths right.
	t.Run("3d/2-heads/causal/cost-on-output-and-weights", func(t *testing.T) {
		g := G.NewGraph()
		c := attnCase{s: attnShape{B: 2, Tq: 3, Tk: 4, C: 4, Cv: 4}, heads: 2, causal: true}
		a := c.build(t, g, tensor.Float64, 1250)
		rng := newRand(1251)
		r1 := graphtest.Input(g, tensor.Float64, "r1", a.out.Shape(), graphtest.Uniforms(rng, a.out.Shape().TotalSize(), -1, 1))
		r2 := graphtest.Input(g, tensor.Float64, "r2", a.weights.Shape(), graphtest.Uniforms(rng, a.weights.Shape().TotalSize(), -1, 1))
		cost := graphtest.Must(t)(G.Add(graphtest.WeightedSum(t, a.out, r1), graphtest.WeightedSum(t, a.weights, r2)))
		graphtest.CheckGrads(t, cost, G.Nodes{a.q, a.k, a.v})
	})
}

// TestGradCheckApplyWeights checks ApplyWeights alone, with arbitrary (not softmax)
// weights, with respect to the weights and v, for 2-D and 3-D v.
func TestGradCheckApplyWeights(t *testing.T) {
	for i, c := range []struct {
		name string
		w, v tensor.Shape
	}{
		{"2d/1-head", tensor.Shape{1, 1, 3, 4}, tensor.Shape{4, 2}},
		{"2d/2-heads", tensor.Shape{1, 2, 3, 4}, tensor.Shape{4, 4}},
		{"3d/2-heads", tensor.Shape{2, 2, 3, 2}, tensor.Shape{2, 2, 6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(1400 + i))
			g := G.NewGraph()
			w := graphtest.Input(g, tensor.Float64, "w", c.w, graphtest.Normals(r, c.w.TotalSize(), 1))
			v := graphtest.Input(g, tensor.Float64, "v", c.v, graphtest.Normals(r, c.v.TotalSize(), 1))
			out := graphtest.Must(t)(graph.ApplyWeights(w, v))
			rv := graphtest.Input(g, tensor.Float64, "r", out.Shape(), graphtest.Uniforms(r, out.Shape().TotalSize(), -1, 1))
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, out, rv), G.Nodes{w, v})
		})
	}
}

// TestGradCheckReport checks GradCheck's report on a cost with a known gradient:
// Σ r ⊙ x³ has ∂/∂x = 3 r x², and the values of x are put back afterwards.
func TestGradCheckReport(t *testing.T) {
	g := G.NewGraph()
	xs := []float64{0.5, -1.5, 2, 0.25, -0.75, 1}
	rs := []float64{1, 0.5, -2, 3, 1.5, -1}
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, xs)
	r := graphtest.Input(g, tensor.Float64, "r", tensor.Shape{2, 3}, rs)
	cost := graphtest.WeightedSum(t, graphtest.Must(t)(G.Cube(x)), r)
	res, err := graph.GradCheck(cost, G.Nodes{x}, graph.GradCheckOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Node != x {
		t.Fatalf("results %v; want one for x", res)
	}
	w := res[0]
	if len(w.Index) != 2 {
		t.Fatalf("index %v; want 2 coordinates", w.Index)
	}
	flat := w.Index[0]*3 + w.Index[1]
	if want := 3 * rs[flat] * xs[flat] * xs[flat]; math.Abs(w.Analytic-want) > 1e-12 {
		t.Errorf("analytic gradient at %v = %v, want 3·r·x² = %v", w.Index, w.Analytic, want)
	}
	if d := math.Abs(w.Analytic - w.Numeric); d != w.AbsErr || w.AbsErr > 1e-8 {
		t.Errorf("AbsErr %v; |analytic − numeric| = %v", w.AbsErr, d)
	}
	if want := w.AbsErr / math.Max(math.Max(math.Abs(w.Analytic), math.Abs(w.Numeric)), 1); w.RelErr != want {
		t.Errorf("RelErr %v, want %v", w.RelErr, want)
	}
	graphtest.ExpectClose(t, "x after GradCheck", graphtest.Floats(x), xs, 0)
	t.Logf("gradcheck: %s %.3g (%s)", t.Name(), w.RelErr, w)
}

// TestGradCheckDetectsWrongGradient runs GradCheck on Gorgonia's own SoftMax of an
// (n, 1) column, whose gradient is wrong in v0.9.18 (../shared/GORGONIA.md pitfall 2):
// the checker must see it.
func TestGradCheckDetectsWrongGradient(t *testing.T) {
	g := G.NewGraph()
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{3, 1}, []float64{0.1, 0.5, -0.3})
	r := graphtest.Input(g, tensor.Float64, "r", tensor.Shape{3, 1}, []float64{0.3, -0.5, 0.9})
	res, err := graph.GradCheck(graphtest.WeightedSum(t, graphtest.Must(t)(G.SoftMax(x)), r), G.Nodes{x}, graph.GradCheckOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].RelErr < 1e-2 {
		t.Errorf("worst rel. error %.3g: GradCheck missed a known wrong gradient (%s)", res[0].RelErr, res[0])
	}
}

func TestGradCheckBadInput(t *testing.T) {
	// scalarCost is Σ x for a float64 x (2, 2) with a value.
	scalarCost := func(g *G.ExprGraph) (cost, x *G.Node) {
		x = f64(g, "x", 2, 2)
		return G.Must(G.Sum(x)), x
	}
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "nil cost", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			_, x := scalarCost(g)
			_, err := graph.GradCheck(nil, G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "non-scalar cost", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			x := f64(g, "x", 2, 2)
			_, err := graph.GradCheck(G.Must(G.Square(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "float32 cost", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			x := f32(g, "x", 2, 2)
			_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "empty wrt", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			cost, _ := scalarCost(g)
			_, err := graph.GradCheck(cost, nil, graph.GradCheckOpts{})
			return err
		}},
		{Name: "nil node in wrt", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			cost, x := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{x, nil}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "float32 node in wrt", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			cost, _ := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{f32(g, "y", 2)}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "node without a value", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			x := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("x"))
			_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{Name: "negative eps", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			cost, x := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{x}, graph.GradCheckOpts{Eps: -1e-6})
			return err
		}},
		{Name: "negative floor", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			cost, x := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{x}, graph.GradCheckOpts{Floor: -1})
			return err
		}},
	})
}

// TestGradCheckNotAffecting checks a node the cost does not depend on: Gorgonia refuses
// to differentiate, and GradCheck must say so with an error, not a panic.
func TestGradCheckNotAffecting(t *testing.T) {
	g := G.NewGraph()
	x := f64(g, "x", 2, 2)
	y := f64(g, "y", 2, 2)
	err := graphtest.NoPanic(func() error {
		_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{y}, graph.GradCheckOpts{})
		return err
	})
	if err == nil {
		t.Fatal("no error for a node the cost does not depend on")
	}
	if errors.As(err, new(graphtest.PanicError)) {
		t.Errorf("GradCheck panicked: %v", err)
	}
	t.Log(err)
}
