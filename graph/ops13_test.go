package graph_test

import (
	"math"
	"strings"
	"testing"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGradCheckOps13 checks the gradients of RMSNorm, SiLU, SwiGLU, ReLUSquared and
// SoftCap against central differences in float64 at tiny sizes, with the cost Σ y ⊙ r.
func TestGradCheckOps13(t *testing.T) {
	away := func(v []float64) []float64 { // ReLU² has a kink at 0: keep |x| ≥ 0.1
		for i, x := range v {
			if math.Abs(x) < 0.1 {
				v[i] = math.Copysign(0.1+math.Abs(x), x)
			}
		}
		return v
	}
	for i, c := range []struct {
		name  string
		shape tensor.Shape
		scale float64
		build func(g *G.ExprGraph, x *G.Node, rng func(n int) []float64) (*G.Node, G.Nodes, error)
	}{
		{"RMSNorm/gain/(3,5)", tensor.Shape{3, 5}, 1, func(g *G.ExprGraph, x *G.Node, rng func(int) []float64) (*G.Node, G.Nodes, error) {
			gain := graphtest.Input(g, tensor.Float64, "gain", tensor.Shape{5}, rng(5))
			y, err := graph.RMSNorm(x, gain, 1e-5)
			return y, G.Nodes{x, gain}, err
		}},
		{"RMSNorm/gain/(2,3,4)/small-x", tensor.Shape{2, 3, 4}, 0.01, func(g *G.ExprGraph, x *G.Node, rng func(int) []float64) (*G.Node, G.Nodes, error) {
			gain := graphtest.Input(g, tensor.Float64, "gain", tensor.Shape{4}, rng(4))
			y, err := graph.RMSNorm(x, gain, 1e-4)
			return y, G.Nodes{x, gain}, err
		}},
		{"RMSNorm/no-gain/(2,2,6)", tensor.Shape{2, 2, 6}, 2, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.RMSNorm(x, nil, 1e-6)
			return y, G.Nodes{x}, err
		}},
		{"RMSNorm/C=1", tensor.Shape{4, 1}, 1, func(g *G.ExprGraph, x *G.Node, rng func(int) []float64) (*G.Node, G.Nodes, error) {
			gain := graphtest.Input(g, tensor.Float64, "gain", tensor.Shape{1}, rng(1))
			y, err := graph.RMSNorm(x, gain, 0.5)
			return y, G.Nodes{x, gain}, err
		}},
		{"RMSNorm/1-D", tensor.Shape{7}, 1, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.RMSNorm(x, nil, 1e-5)
			return y, G.Nodes{x}, err
		}},
		{"SiLU/(3,4)", tensor.Shape{3, 4}, 3, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.SiLU(x)
			return y, G.Nodes{x}, err
		}},
		{"SwiGLU/(2,3,4)", tensor.Shape{2, 3, 4}, 3, func(g *G.ExprGraph, x *G.Node, rng func(int) []float64) (*G.Node, G.Nodes, error) {
			b := graphtest.Input(g, tensor.Float64, "b", tensor.Shape{2, 3, 4}, rng(24))
			y, err := graph.SwiGLU(x, b)
			return y, G.Nodes{x, b}, err
		}},
		{"SwiGLU/same-node", tensor.Shape{5}, 2, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.SwiGLU(x, x) // silu(x)·x: both paths into x
			return y, G.Nodes{x}, err
		}},
		{"ReLUSquared/(3,4)", tensor.Shape{3, 4}, 2, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			if err := G.Let(x, graphtest.DenseOf(tensor.Float64, x.Shape(), away(graphtest.Floats(x)))); err != nil {
				return nil, nil, err
			}
			y, err := graph.ReLUSquared(x)
			return y, G.Nodes{x}, err
		}},
		{"SoftCap/c=2/(2,5)", tensor.Shape{2, 5}, 4, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.SoftCap(x, 2)
			return y, G.Nodes{x}, err
		}},
		{"SoftCap/c=30/(2,2,3)", tensor.Shape{2, 2, 3}, 30, func(g *G.ExprGraph, x *G.Node, _ func(int) []float64) (*G.Node, G.Nodes, error) {
			y, err := graph.SoftCap(x, 30)
			return y, G.Nodes{x}, err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(1300 + i))
			rng := func(n int) []float64 { return graphtest.Normals(r, n, 1) }
			g := G.NewGraph()
			x := graphtest.Input(g, tensor.Float64, "x", c.shape, graphtest.Normals(r, c.shape.TotalSize(), c.scale))
			y, wrt, err := c.build(g, x, rng)
			if err != nil {
				t.Fatal(err)
			}
			rv := graphtest.Input(g, tensor.Float64, "r", y.Shape(), graphtest.Uniforms(r, y.Shape().TotalSize(), -1, 1))
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, y, rv), wrt)
		})
	}
}

// ops13Run builds y = build(x) for x of the given values in dtype dt, runs it and
// returns y's values.
func ops13Run(t *testing.T, dt tensor.Dtype, shape tensor.Shape, xs []float64, build func(x *G.Node) (*G.Node, error)) []float64 {
	t.Helper()
	g := G.NewGraph()
	y := graphtest.Must(t)(build(graphtest.Input(g, dt, "x", shape, xs)))
	graphtest.RunGraph(t, g)
	return graphtest.Values(t, y.Value())
}

// NaN in gives NaN out, in its own element for the elementwise ops and over its row
// for RMSNorm (as PyTorch); the other elements and rows stay what they were.
func TestOps13NaN(t *testing.T) {
	nan := math.NaN()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, c := range []struct {
			name  string
			build func(x *G.Node) (*G.Node, error)
			want  func(v float64) float64 // for the finite elements
		}{
			{"SiLU", graph.SiLU, func(v float64) float64 { return v / (1 + math.Exp(-v)) }},
			{"SwiGLU(x, x)", func(x *G.Node) (*G.Node, error) { return graph.SwiGLU(x, x) }, func(v float64) float64 { return v * v / (1 + math.Exp(-v)) }},
			{"ReLUSquared", graph.ReLUSquared, func(v float64) float64 { return math.Pow(math.Max(v, 0), 2) }},
			{"SoftCap", func(x *G.Node) (*G.Node, error) { return graph.SoftCap(x, 2) }, func(v float64) float64 { return 2 * math.Tanh(v/2) }},
		} {
			xs := []float64{-1.5, nan, 0.5, 2, nan, -0.25}
			y := ops13Run(t, dt, tensor.Shape{2, 3}, xs, c.build)
			for i, v := range xs {
				if math.IsNaN(v) != math.IsNaN(y[i]) || (!math.IsNaN(v) && math.Abs(y[i]-c.want(v)) > 1e-6) {
					t.Errorf("%v %s(%v) = %v; want %v", dt, c.name, v, y[i], c.want(v))
				}
			}
		}
		xs := []float64{1, nan, 2, 3, 4, 0}
		y := ops13Run(t, dt, tensor.Shape{2, 3}, xs, func(x *G.Node) (*G.Node, error) { return graph.RMSNorm(x, nil, 1e-5) })
		for i, v := range y[:3] {
			if !math.IsNaN(v) {
				t.Errorf("%v RMSNorm: row with NaN gives %v at %d; want NaN", dt, v, i)
			}
		}
		rms := math.Sqrt((9+16)/3.0 + 1e-5)
		graphtest.ExpectClose(t, dt.String()+" RMSNorm row 2", y[3:], []float64{3 / rms, 4 / rms, 0}, 1e-6)
	}
}

// Far in the tails SiLU, SwiGLU and their gradients are 0 (not NaN) below and the
// identity (gradient 1) above, and SoftCap saturates at ±c with gradient 0, in both
// dtypes.
func TestOps13Tails(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		xs := []float64{-1e4, -200, 200, 1e4}
		for _, c := range []struct {
			name    string
			build   func(x *G.Node) (*G.Node, error)
			y, dydx []float64
		}{
			{"SiLU", graph.SiLU, []float64{0, 0, 200, 1e4}, []float64{0, 0, 1, 1}},
			{"SoftCap", func(x *G.Node) (*G.Node, error) { return graph.SoftCap(x, 5) }, []float64{-5, -5, 5, 5}, []float64{0, 0, 0, 0}},
		} {
			g := G.NewGraph()
			x := graphtest.Input(g, dt, "x", tensor.Shape{4}, xs)
			y := graphtest.Must(t)(c.build(x))
			ones := graphtest.Input(g, dt, "ones", tensor.Shape{4}, []float64{1, 1, 1, 1})
			grads, err := G.Grad(graphtest.WeightedSum(t, y, ones), x)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			graphtest.ExpectClose(t, dt.String()+" "+c.name, graphtest.Values(t, y.Value()), c.y, 1e-80)
			graphtest.ExpectClose(t, dt.String()+" "+c.name+" gradient", graphtest.Values(t, grads[0].Value()), c.dydx, 1e-80)
			graphtest.ExpectFinite(t, dt.String()+" "+c.name+" gradient", graphtest.Values(t, grads[0].Value()))
		}
	}
}

// The elementwise ops take zero-size nodes (an empty output, and empty gradients from
// their backward ops); RMSNorm takes zero rows (and gives the gain a zero gradient).
func TestOps13ZeroSize(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, c := range []struct {
			name  string
			shape tensor.Shape
			build func(g *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error)
		}{
			{"SiLU", tensor.Shape{2, 0}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error) {
				y, err := graph.SiLU(x)
				return y, G.Nodes{x}, err
			}},
			{"SwiGLU", tensor.Shape{0, 3}, func(g *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error) {
				b := graphtest.Input(g, dt, "b", tensor.Shape{0, 3}, nil)
				y, err := graph.SwiGLU(x, b)
				return y, G.Nodes{x, b}, err
			}},
			{"ReLUSquared", tensor.Shape{0}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error) {
				y, err := graph.ReLUSquared(x)
				return y, G.Nodes{x}, err
			}},
			{"SoftCap", tensor.Shape{1, 0, 2}, func(_ *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error) {
				y, err := graph.SoftCap(x, 3)
				return y, G.Nodes{x}, err
			}},
			{"RMSNorm", tensor.Shape{0, 4}, func(g *G.ExprGraph, x *G.Node) (*G.Node, G.Nodes, error) {
				gain := graphtest.Input(g, dt, "gain", tensor.Shape{4}, []float64{1, 2, 3, 4})
				y, err := graph.RMSNorm(x, gain, 1e-5)
				return y, G.Nodes{x, gain}, err
			}},
		} {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				g := G.NewGraph()
				x := graphtest.Input(g, dt, "x", c.shape, nil)
				y, wrt, err := c.build(g, x)
				if err != nil {
					t.Fatal(err)
				}
				dy := graphtest.Input(g, dt, "dy", c.shape, nil)
				grads, err := gradsOf(t, y, dy, wrt)
				if err != nil {
					t.Fatal(err)
				}
				graphtest.RunGraph(t, g)
				if got := graphtest.Values(t, y.Value()); len(got) != 0 || !y.Shape().Eq(c.shape) {
					t.Errorf("y is %v holding %v; want %v, empty", y.Shape(), got, c.shape)
				}
				for i, gr := range grads {
					want := make([]float64, wrt[i].Shape().TotalSize())
					graphtest.ExpectClose(t, "gradient of "+wrt[i].Name(), graphtest.Values(t, gr.Value()), want, 0)
				}
			})
		}
	}
}

// Bad inputs give one error naming the op, wrapping the right sentinel.
func TestOps13BadInputs(t *testing.T) {
	cases := []graphtest.BadCase{
		{Name: "RMSNorm: nil x", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(nil, nil, 1e-5)) }},
		{Name: "RMSNorm: int x", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(ints(g, "x", 2, 3), nil, 1e-5)) }},
		{Name: "RMSNorm: float32 gain, float64 x", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error {
			return err2(graph.RMSNorm(f64(g, "x", 2, 3), f32(g, "gain", 3), 1e-5))
		}},
		{Name: "RMSNorm: gain of the wrong width", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.RMSNorm(f64(g, "x", 2, 3), f64(g, "gain", 4), 1e-5))
		}},
		{Name: "RMSNorm: 2-D gain", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.RMSNorm(f64(g, "x", 2, 3), f64(g, "gain", 1, 3), 1e-5))
		}},
		{Name: "RMSNorm: last axis 0", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(f64(g, "x", 2, 0), nil, 1e-5)) }},
		{Name: "RMSNorm: scalar x", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.RMSNorm(G.NewScalar(g, tensor.Float64, G.WithName("x")), nil, 1e-5))
		}},
		{Name: "RMSNorm: eps 0", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(f64(g, "x", 2, 3), nil, 0)) }},
		{Name: "RMSNorm: eps < 0", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(f64(g, "x", 2, 3), nil, -1e-5)) }},
		{Name: "RMSNorm: eps NaN", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(f64(g, "x", 2, 3), nil, math.NaN())) }},
		{Name: "RMSNorm: eps +Inf", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.RMSNorm(f64(g, "x", 2, 3), nil, math.Inf(1))) }},
		{Name: "SiLU: nil", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SiLU(nil)) }},
		{Name: "SiLU: int", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.SiLU(ints(g, "x", 3))) }},
		{Name: "SwiGLU: nil a", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(nil, f64(g, "b", 2))) }},
		{Name: "SwiGLU: nil b", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(f64(g, "a", 2), nil)) }},
		{Name: "SwiGLU: int a", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(ints(g, "a", 2), f64(g, "b", 2))) }},
		{Name: "SwiGLU: float32 b, float64 a", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(f64(g, "a", 2), f32(g, "b", 2))) }},
		{Name: "SwiGLU: shapes differ", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(f64(g, "a", 2, 3), f64(g, "b", 3, 2))) }},
		{Name: "SwiGLU: ranks differ", Want: attend.ErrShape, Build: func(g *G.ExprGraph) error { return err2(graph.SwiGLU(f64(g, "a", 1, 2, 3), f64(g, "b", 2, 3))) }},
		{Name: "ReLUSquared: nil", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.ReLUSquared(nil)) }},
		{Name: "ReLUSquared: int", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.ReLUSquared(ints(g, "x", 3))) }},
		{Name: "SoftCap: nil", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(nil, 30)) }},
		{Name: "SoftCap: int", Want: attend.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(ints(g, "z", 3), 30)) }},
		{Name: "SoftCap: c 0", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(f64(g, "z", 3), 0)) }},
		{Name: "SoftCap: c < 0", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(f64(g, "z", 3), -15)) }},
		{Name: "SoftCap: c NaN", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(f64(g, "z", 3), math.NaN())) }},
		{Name: "SoftCap: c +Inf", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.SoftCap(f64(g, "z", 3), math.Inf(1))) }},
	}
	graphtest.RunBadCases(t, cases)
	// One prefix, naming the op, on every message.
	for _, c := range cases {
		err := graphtest.NoPanic(func() error { return c.Build(G.NewGraph()) })
		op := "graph: " + strings.SplitN(c.Name, ":", 2)[0] + ": "
		if err == nil || !strings.HasPrefix(err.Error(), op) || strings.Count(err.Error(), "graph: ") != 1 {
			t.Errorf("%s: error %q; want it to start with %q, once", c.Name, err, op)
		}
	}
}

// Ops of different parameters on one node are different nodes (Gorgonia merges nodes of
// equal hash): SoftCap with two caps, RMSNorm with two eps.
func TestOps13Hash(t *testing.T) {
	g := G.NewGraph()
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{1, 3}, []float64{1, 20, -40})
	a := graphtest.Must(t)(graph.SoftCap(x, 10))
	b := graphtest.Must(t)(graph.SoftCap(x, 30))
	n1 := graphtest.Must(t)(graph.RMSNorm(x, nil, 1e-5))
	n2 := graphtest.Must(t)(graph.RMSNorm(x, nil, 100))
	graphtest.RunGraph(t, g)
	if a == b || graphtest.Values(t, a.Value())[1] == graphtest.Values(t, b.Value())[1] {
		t.Errorf("SoftCap with caps 10 and 30 gave one node or one value: %v, %v", a.Value(), b.Value())
	}
	if n1 == n2 || graphtest.Values(t, n1.Value())[0] == graphtest.Values(t, n2.Value())[0] {
		t.Errorf("RMSNorm with eps 1e-5 and 100 gave one node or one value: %v, %v", n1.Value(), n2.Value())
	}
}
