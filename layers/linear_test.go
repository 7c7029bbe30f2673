package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ---- helpers shared by linear_test.go and attention_test.go ----

// newRand returns a deterministic generator; every test draws from its own seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x1a7e45)) }

// randomCost returns Σ y ⊙ r for a fixed random r (a new input node called name).
func randomCost(t *testing.T, g *G.ExprGraph, y *G.Node, name string, seed uint64) *G.Node {
	t.Helper()
	r := graphtest.Input(g, y.Dtype(), name, y.Shape(), graphtest.Normals(newRand(seed), y.Shape().TotalSize(), 1))
	return graphtest.WeightedSum(t, y, r)
}

// refAffine is x·W + b with plain loops: x (rows, in), W (in, out), b (out) or nil.
func refAffine(x []float64, rows, in, out int, w, b []float64) []float64 {
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[i*out+o]
			}
			y[r*out+o] = s
		}
	}
	return y
}

// ---- Linear ----

type linearCase struct {
	name  string
	shape tensor.Shape // x
	out   int
	bias  bool
}

func linearCases() []linearCase {
	return []linearCase{
		{"2d/bias", tensor.Shape{3, 4}, 5, true},
		{"2d/no-bias", tensor.Shape{3, 4}, 5, false},
		{"3d/bias", tensor.Shape{2, 3, 4}, 2, true},
		{"3d/no-bias", tensor.Shape{2, 3, 4}, 2, false},
		{"1x1", tensor.Shape{1, 1}, 1, true},
	}
}

// TestLinearMatchesReference checks Linear's output against refAffine in both dtypes,
// with a random (non-zero) bias.
func TestLinearMatchesReference(t *testing.T) {
	for i, c := range linearCases() {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", c.name, dt), func(t *testing.T) {
				r := newRand(uint64(10 + i))
				g := G.NewGraph()
				in := c.shape[len(c.shape)-1]
				l, err := layers.NewLinear(g, "lin", in, c.out, c.bias, layers.WithDtype(dt), layers.WithSeed(5))
				if err != nil {
					t.Fatal(err)
				}
				graphtest.SetRandom(t, r, 1, l.Learnables()...)
				x := graphtest.Input(g, dt, "x", c.shape, graphtest.Normals(r, c.shape.TotalSize(), 1))
				y := graphtest.Must(t)(l.Forward(x))
				wantShape := append(c.shape[:len(c.shape)-1].Clone(), c.out)
				if !y.Shape().Eq(wantShape) || y.Dtype() != dt {
					t.Fatalf("y is %v %v, want %v %v", y.Dtype(), y.Shape(), dt, wantShape)
				}
				graphtest.RunGraph(t, g)
				var b []float64
				if c.bias {
					b = graphtest.Floats(l.B)
				}
				want := refAffine(graphtest.Floats(x), c.shape.TotalSize()/in, in, c.out, graphtest.Floats(l.W), b)
				tol := 1e-14
				if dt == tensor.Float32 {
					tol = 1e-5
				}
				graphtest.ExpectClose(t, "y", graphtest.Floats(y), want, tol)
			})
		}
	}
}

// TestLinearGradCheck checks the gradients with respect to x, W and b.
func TestLinearGradCheck(t *testing.T) {
	for i, c := range linearCases() {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(20 + i))
			g := G.NewGraph()
			l, err := layers.NewLinear(g, "lin", c.shape[len(c.shape)-1], c.out, c.bias, layers.WithDtype(tensor.Float64))
			if err != nil {
				t.Fatal(err)
			}
			graphtest.SetRandom(t, r, 1, l.Learnables()...)
			x := graphtest.Input(g, tensor.Float64, "x", c.shape, graphtest.Normals(r, c.shape.TotalSize(), 1))
			y := graphtest.Must(t)(l.Forward(x))
			graphtest.CheckGrads(t, randomCost(t, g, y, "r", uint64(30+i)), append(G.Nodes{x}, l.Learnables()...))
		})
	}
}

// TestLinearLearnables checks names, shapes, order, the default initialisation
// U(−1/√in, 1/√in) with a zero bias, and that the seed alone decides the values.
func TestLinearLearnables(t *testing.T) {
	build := func(seed uint64, bias bool) *layers.Linear {
		l, err := layers.NewLinear(G.NewGraph(), "blocks.0.fc", 16, 3, bias, layers.WithDtype(tensor.Float64), layers.WithSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := build(1, true)
	ls := l.Learnables()
	if len(ls) != 2 || ls[0] != l.W || ls[1] != l.B {
		t.Fatalf("Learnables() = %v; want [W B]", ls)
	}
	for _, c := range []struct {
		n     *G.Node
		name  string
		shape tensor.Shape
	}{{l.W, "blocks.0.fc.weight", tensor.Shape{16, 3}}, {l.B, "blocks.0.fc.bias", tensor.Shape{3}}} {
		if c.n.Name() != c.name || !c.n.Shape().Eq(c.shape) || c.n.Dtype() != tensor.Float64 {
			t.Errorf("learnable %q %v %v; want %q %v float64", c.n.Name(), c.n.Shape(), c.n.Dtype(), c.name, c.shape)
		}
	}
	w := graphtest.Floats(l.W)
	bound, maxAbs := 1/math.Sqrt(16), 0.0
	for _, x := range w {
		maxAbs = math.Max(maxAbs, math.Abs(x))
	}
	if maxAbs > bound || maxAbs < bound/2 {
		t.Errorf("max |W| = %v; want within (%v/2, %v]", maxAbs, bound, bound)
	}
	graphtest.ExpectClose(t, "bias", graphtest.Floats(l.B), make([]float64, 3), 0)
	graphtest.ExpectClose(t, "W with the same seed", graphtest.Floats(build(1, false).W), w, 0)
	if same := graphtest.Floats(build(2, true).W); same[0] == w[0] && same[1] == w[1] {
		t.Errorf("seeds 1 and 2 give the same weights %v", same[:2])
	}
	if nb := build(1, false); len(nb.Learnables()) != 1 || nb.B != nil {
		t.Errorf("without bias: Learnables() = %v, B = %v", nb.Learnables(), nb.B)
	}
}

func TestLinearBadInput(t *testing.T) {
	lin := func(g *G.ExprGraph) *layers.Linear {
		l, err := layers.NewLinear(g, "lin", 4, 3, true, layers.WithDtype(tensor.Float64))
		if err != nil {
			panic(err)
		}
		return l
	}
	fwd := func(x func(g *G.ExprGraph) *G.Node) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			_, err := lin(g).Forward(x(g))
			return err
		}
	}
	newLin := func(name string, in, out int, opts ...layers.Option) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			_, err := layers.NewLinear(g, name, in, out, true, opts...)
			return err
		}
	}
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "NewLinear: nil graph", Want: layers.ErrConfig, Build: func(*G.ExprGraph) error { _, err := layers.NewLinear(nil, "lin", 4, 3, true); return err }},
		{Name: "NewLinear: empty name", Want: layers.ErrConfig, Build: newLin("", 4, 3)},
		{Name: "NewLinear: in = 0", Want: layers.ErrConfig, Build: newLin("lin", 0, 3)},
		{Name: "NewLinear: out = 0", Want: layers.ErrConfig, Build: newLin("lin", 4, 0)},
		{Name: "NewLinear: negative in", Want: layers.ErrConfig, Build: newLin("lin", -4, 3)},
		{Name: "NewLinear: negative out", Want: layers.ErrConfig, Build: newLin("lin", 4, -3)},
		{Name: "NewLinear: int dtype", Want: layers.ErrConfig, Build: newLin("lin", 4, 3, layers.WithDtype(tensor.Int))},
		{Name: "NewLinear: same name twice", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			lin(g)
			_, err := layers.NewLinear(g, "lin", 4, 3, true, layers.WithDtype(tensor.Float64))
			return err
		}},
		{Name: "NewLinear: same name twice, other sizes", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			lin(g)
			_, err := layers.NewLinear(g, "lin", 5, 2, false, layers.WithDtype(tensor.Float64))
			return err
		}},
		{Name: "NewLinear: name of an existing node", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			graphtest.Input(g, tensor.Float64, "lin.weight", tensor.Shape{4, 3}, nil)
			_, err := layers.NewLinear(g, "lin", 4, 3, false, layers.WithDtype(tensor.Float64))
			return err
		}},
		{Name: "Forward: nil x", Want: graph.ErrArgument, Build: fwd(func(*G.ExprGraph) *G.Node { return nil })},
		{Name: "Forward: 1-D x", Want: graph.ErrShape, Build: fwd(func(g *G.ExprGraph) *G.Node { return graphtest.Input(g, tensor.Float64, "x", tensor.Shape{4}, nil) })},
		{Name: "Forward: 4-D x", Want: graph.ErrShape, Build: fwd(func(g *G.ExprGraph) *G.Node {
			return graphtest.Input(g, tensor.Float64, "x", tensor.Shape{1, 2, 3, 4}, nil)
		})},
		{Name: "Forward: wrong width", Want: graph.ErrShape, Build: fwd(func(g *G.ExprGraph) *G.Node { return graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, nil) })},
		{Name: "Forward: wrong width 3-D", Want: graph.ErrShape, Build: fwd(func(g *G.ExprGraph) *G.Node {
			return graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 4, 3}, nil)
		})},
		{Name: "Forward: float32 x into a float64 layer", Want: graph.ErrDtype, Build: fwd(func(g *G.ExprGraph) *G.Node {
			return graphtest.Input(g, tensor.Float32, "x", tensor.Shape{2, 4}, nil)
		})},
		{Name: "Forward: int x", Want: graph.ErrDtype, Build: fwd(func(g *G.ExprGraph) *G.Node {
			return G.NewTensor(g, tensor.Int, 2, G.WithShape(2, 4), G.WithName("x"))
		})},
	})
}
