package graph_test

import (
	"errors"
	"math"
	"testing"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradTol is the largest relative error (GradCheck's default floor 1) a gradient may show
// against central differences with eps 1e-6 in float64.
const gradTol = 1e-6

// checkGrads runs GradCheck (default options) and fails on any node whose worst element
// is off by more than gradTol, or whose gradient is identically zero (which would make
// the check vacuous). It logs the worst element over all nodes as
// "gradcheck: <test name> <worst rel. error> (<element>)".
func checkGrads(t *testing.T, cost *G.Node, wrt G.Nodes) {
	t.Helper()
	res, err := graph.GradCheck(cost, wrt, graph.GradCheckOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(wrt) {
		t.Fatalf("%d results for %d nodes", len(res), len(wrt))
	}
	worst := res[0]
	for i, r := range res {
		if r.Node != wrt[i] {
			t.Errorf("result %d is for %q; want %q", i, r.Node.Name(), wrt[i].Name())
		}
		if !(r.RelErr <= gradTol) {
			t.Errorf("gradient of %s", r)
		}
		if r.RelErr == 0 && r.Analytic == 0 && r.Numeric == 0 {
			t.Errorf("gradient of %q is identically zero: the check proves nothing", r.Node.Name())
		}
		if r.RelErr > worst.RelErr {
			worst = r
		}
	}
	t.Logf("gradcheck: %s %.3g (%s)", t.Name(), worst.RelErr, worst)
}

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
				y := must(t)(softmaxOp(log)(x, mask))
				n := c.shape.TotalSize()
				var cost *G.Node
				if log && mask != nil {
					rv := input(g, tensor.Float64, "r", c.shape, uniforms(r, n, 0.5, 1.5))
					cost = must(t)(G.Sum(must(t)(G.Exp(must(t)(G.HadamardProd(y, rv))))))
				} else {
					rv := input(g, tensor.Float64, "r", c.shape, uniforms(r, n, -1, 1))
					cost = weightedSum(t, y, rv)
				}
				checkGrads(t, cost, G.Nodes{x})
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
			logits := input(g, tensor.Float64, "logits", c.shape, normals(newRand(uint64(1100+i)), c.shape.TotalSize(), 2))
			targets := intInput(g, "targets", c.shape[:len(c.shape)-1], c.targets)
			checkGrads(t, must(t)(graph.CrossEntropy(logits, targets)), G.Nodes{logits})
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
			r := input(g, tensor.Float64, "r", a.out.Shape(), uniforms(newRand(uint64(1300+i)), a.out.Shape().TotalSize(), -1, 1))
			checkGrads(t, weightedSum(t, a.out, r), G.Nodes{a.q, a.k, a.v})
		})
	}
	// The weights node is an output too: a cost that uses both must get both paths right.
	t.Run("3d/2-heads/causal/cost-on-output-and-weights", func(t *testing.T) {
		g := G.NewGraph()
		c := attnCase{s: attnShape{B: 2, Tq: 3, Tk: 4, C: 4, Cv: 4}, heads: 2, causal: true}
		a := c.build(t, g, tensor.Float64, 1250)
		rng := newRand(1251)
		r1 := input(g, tensor.Float64, "r1", a.out.Shape(), uniforms(rng, a.out.Shape().TotalSize(), -1, 1))
		r2 := input(g, tensor.Float64, "r2", a.weights.Shape(), uniforms(rng, a.weights.Shape().TotalSize(), -1, 1))
		cost := must(t)(G.Add(weightedSum(t, a.out, r1), weightedSum(t, a.weights, r2)))
		checkGrads(t, cost, G.Nodes{a.q, a.k, a.v})
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
			w := input(g, tensor.Float64, "w", c.w, normals(r, c.w.TotalSize(), 1))
			v := input(g, tensor.Float64, "v", c.v, normals(r, c.v.TotalSize(), 1))
			out := must(t)(graph.ApplyWeights(w, v))
			rv := input(g, tensor.Float64, "r", out.Shape(), uniforms(r, out.Shape().TotalSize(), -1, 1))
			checkGrads(t, weightedSum(t, out, rv), G.Nodes{w, v})
		})
	}
}

// TestGradCheckReport checks GradCheck's report on a cost with a known gradient:
// Σ r ⊙ x³ has ∂/∂x = 3 r x², and the values of x are put back afterwards.
func TestGradCheckReport(t *testing.T) {
	g := G.NewGraph()
	xs := []float64{0.5, -1.5, 2, 0.25, -0.75, 1}
	rs := []float64{1, 0.5, -2, 3, 1.5, -1}
	x := input(g, tensor.Float64, "x", tensor.Shape{2, 3}, xs)
	r := input(g, tensor.Float64, "r", tensor.Shape{2, 3}, rs)
	cost := weightedSum(t, must(t)(G.Cube(x)), r)
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
	expectClose(t, "x after GradCheck", floats(x), xs, 0)
	t.Logf("gradcheck: %s %.3g (%s)", t.Name(), w.RelErr, w)
}

// TestGradCheckDetectsWrongGradient runs GradCheck on Gorgonia's own SoftMax of an
// (n, 1) column, whose gradient is wrong in v0.9.18 (../shared/GORGONIA.md pitfall 2):
// the checker must see it.
func TestGradCheckDetectsWrongGradient(t *testing.T) {
	g := G.NewGraph()
	x := input(g, tensor.Float64, "x", tensor.Shape{3, 1}, []float64{0.1, 0.5, -0.3})
	r := input(g, tensor.Float64, "r", tensor.Shape{3, 1}, []float64{0.3, -0.5, 0.9})
	res, err := graph.GradCheck(weightedSum(t, must(t)(G.SoftMax(x)), r), G.Nodes{x}, graph.GradCheckOpts{})
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
	runBadCases(t, []badCase{
		{"nil cost", graph.ErrArgument, func(g *G.ExprGraph) error {
			_, x := scalarCost(g)
			_, err := graph.GradCheck(nil, G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{"non-scalar cost", graph.ErrShape, func(g *G.ExprGraph) error {
			x := f64(g, "x", 2, 2)
			_, err := graph.GradCheck(G.Must(G.Square(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{"float32 cost", graph.ErrDtype, func(g *G.ExprGraph) error {
			x := f32(g, "x", 2, 2)
			_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{"empty wrt", graph.ErrArgument, func(g *G.ExprGraph) error {
			cost, _ := scalarCost(g)
			_, err := graph.GradCheck(cost, nil, graph.GradCheckOpts{})
			return err
		}},
		{"nil node in wrt", graph.ErrArgument, func(g *G.ExprGraph) error {
			cost, x := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{x, nil}, graph.GradCheckOpts{})
			return err
		}},
		{"float32 node in wrt", graph.ErrDtype, func(g *G.ExprGraph) error {
			cost, _ := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{f32(g, "y", 2)}, graph.GradCheckOpts{})
			return err
		}},
		{"node without a value", graph.ErrArgument, func(g *G.ExprGraph) error {
			x := G.NewMatrix(g, G.Float64, G.WithShape(2, 2), G.WithName("x"))
			_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{x}, graph.GradCheckOpts{})
			return err
		}},
		{"negative eps", graph.ErrArgument, func(g *G.ExprGraph) error {
			cost, x := scalarCost(g)
			_, err := graph.GradCheck(cost, G.Nodes{x}, graph.GradCheckOpts{Eps: -1e-6})
			return err
		}},
		{"negative floor", graph.ErrArgument, func(g *G.ExprGraph) error {
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
	err := noPanic(func() error {
		_, err := graph.GradCheck(G.Must(G.Sum(x)), G.Nodes{y}, graph.GradCheckOpts{})
		return err
	})
	if err == nil {
		t.Fatal("no error for a node the cost does not depend on")
	}
	if errors.As(err, new(panicError)) {
		t.Errorf("GradCheck panicked: %v", err)
	}
	t.Log(err)
}
