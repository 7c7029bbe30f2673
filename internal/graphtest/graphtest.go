// Package graphtest holds the helpers the tests of graph, layers and train share:
// random data, input nodes of either dtype, running a graph, reading a node's values
// as float64, comparing them, and gradient checks. It is for tests only (it imports
// testing); its functions fail the test they are given rather than return errors.
package graphtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/num"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Normals returns n draws from N(0, scale²).
func Normals(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64() * scale
	}
	return v
}

// Uniforms returns n draws from U(lo, hi).
func Uniforms(r *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

// DenseOf returns a tensor of dtype dt (float64 or float32) holding a copy of data.
func DenseOf(dt tensor.Dtype, shape tensor.Shape, data []float64) *tensor.Dense {
	if dt == tensor.Float64 {
		return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(append([]float64(nil), data...)))
	}
	f := make([]float32, len(data))
	for i, x := range data {
		f[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(f))
}

// Input adds an input node called name to g, of dtype dt, holding data (zeros when data
// is nil).
func Input(g *G.ExprGraph, dt tensor.Dtype, name string, shape tensor.Shape, data []float64) *G.Node {
	if data == nil {
		data = make([]float64, shape.TotalSize())
	}
	return G.NewTensor(g, dt, shape.Dims(), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(DenseOf(dt, shape, data)))
}

// IntInput adds a tensor.Int input node (class targets, token ids) to g.
func IntInput(g *G.ExprGraph, name string, shape tensor.Shape, data []int) *G.Node {
	v := tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(append([]int(nil), data...)))
	return G.NewTensor(g, tensor.Int, shape.Dims(), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(v))
}

// MaskInput adds a graph.NewMask input node filled with blocked.
func MaskInput(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, name string, shape tensor.Shape, blocked []bool) *G.Node {
	t.Helper()
	m, err := graph.NewMask(g, dt, shape, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := graph.SetMask(m, blocked); err != nil {
		t.Fatal(err)
	}
	return m
}

// Must(t)(n, err) fails the test on err and returns n; it takes a node constructor's
// two results directly, as in Must(t)(G.Sum(x)).
func Must(t *testing.T) func(n *G.Node, err error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// WeightedSum returns Σ y ⊙ r, a scalar cost whose gradient with respect to y is r.
func WeightedSum(t *testing.T, y, r *G.Node) *G.Node {
	t.Helper()
	return Must(t)(G.Sum(Must(t)(G.HadamardProd(y, r))))
}

// PanicError is a recovered panic.
type PanicError struct{ V any }

func (p PanicError) Error() string { return fmt.Sprintf("panic: %v", p.V) }

// NoPanic runs f and turns a panic into a PanicError.
func NoPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = PanicError{r}
		}
	}()
	return f()
}

// RunAll runs every node of g once with a fresh tape machine and returns its error, or
// its panic as a PanicError.
func RunAll(g *G.ExprGraph) error {
	return NoPanic(func() error {
		m := G.NewTapeMachine(g)
		defer m.Close()
		return m.RunAll()
	})
}

// RunGraph is RunAll failing the test on an error or panic.
func RunGraph(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	if err := RunAll(g); err != nil {
		t.Fatal(err)
	}
}

// Floats returns a float64 copy of a node's value (num.Float64s), or nil when the node
// has no float value.
func Floats(n *G.Node) []float64 {
	f, err := num.Float64s(n.Value())
	if err != nil {
		return nil
	}
	return f
}

// WorstDiff returns the largest |got − want| and its index; a NaN, or an infinity
// where want is finite or of the other sign, counts as +Inf. Slices of different
// lengths give (+Inf, −1).
func WorstDiff(got, want []float64) (float64, int) {
	return worstOf(got, want, func(g, w float64) float64 {
		d := math.Abs(g - w)
		if g == w { // equal infinities
			d = 0
		}
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		return d
	})
}

// ExpectClose fails when got and want differ by more than tol anywhere (see WorstDiff).
func ExpectClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if d, at := WorstDiff(got, want); d > tol {
		if at < 0 {
			t.Errorf("%s: %d values, want %d", what, len(got), len(want))
			return
		}
		t.Errorf("%s[%d] = %.17g, want %.17g (|diff| %.3g > %g)", what, at, got[at], want[at], d, tol)
	}
}

// ExpectFinite fails on the first NaN or infinity of v.
func ExpectFinite(t *testing.T, what string, v []float64) {
	t.Helper()
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Errorf("%s[%d] = %v, want a finite value", what, i, x)
			return
		}
	}
}

// GradTol is the largest relative error (GradCheck's default floor 1) a gradient may
// show against central differences with eps 1e-6 in float64.
const GradTol = 1e-6

// CheckGrads runs graph.GradCheck (default options) and fails on any node whose worst
// element is off by more than GradTol, or whose gradient is identically zero (which
// would make the check vacuous). It logs the worst element over all nodes as
// "gradcheck: <test name> <worst rel. error> (<element>)".
func CheckGrads(t *testing.T, cost *G.Node, wrt G.Nodes) {
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
		if !(r.RelErr <= GradTol) {
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

// SetRandom overwrites the values of nodes (learnables) with draws from N(0, scale²).
func SetRandom(t *testing.T, r *rand.Rand, scale float64, nodes ...*G.Node) {
	t.Helper()
	for _, n := range nodes {
		if err := G.Let(n, DenseOf(n.Dtype(), n.Shape(), Normals(r, n.Shape().TotalSize(), scale))); err != nil {
			t.Fatal(err)
		}
	}
}

// Values returns a float64 copy of v (num.Float64s), failing the test when v is not a
// contiguous float value.
func Values(t testing.TB, v G.Value) []float64 {
	t.Helper()
	f, err := num.Float64s(v)
	if err != nil {
		t.Fatalf("reading %T: %v", v, err)
	}
	return f
}

// RandomBlocked returns rows×k mask entries, each blocked with probability p, leaving at
// least one key open in every row except row full (pass −1 for none), which is all
// blocked.
func RandomBlocked(r *rand.Rand, rows, k int, p float64, full int) []bool {
	m := make([]bool, rows*k)
	for i := 0; i < rows; i++ {
		row := m[i*k : (i+1)*k]
		open := 0
		for j := range row {
			row[j] = i == full || r.Float64() < p
			if !row[j] {
				open++
			}
		}
		if open == 0 && i != full {
			row[r.IntN(k)] = false
		}
	}
	return m
}

// BadCase builds something that must fail with an error wrapping Want, without a panic.
type BadCase struct {
	Name  string
	Want  error
	Build func(g *G.ExprGraph) error
}

// RunBadCases runs each case in a subtest on a new graph and fails when it panics,
// succeeds, or returns an error that does not wrap its Want.
func RunBadCases(t *testing.T, cases []BadCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			err := NoPanic(func() error { return c.Build(G.NewGraph()) })
			switch {
			case errors.As(err, new(PanicError)):
				t.Fatalf("%v; want an error wrapping %q", err, c.Want)
			case err == nil:
				t.Fatalf("no error; want one wrapping %q", c.Want)
			case !errors.Is(err, c.Want):
				t.Errorf("error %q does not wrap %q", err, c.Want)
			}
		})
	}
}

// RandomMask adds a random mask input (graph.NewMask, entries drawn by RandomBlocked
// with p = 0.3) of the layout kind: "shared", one (tq, tk) mask for every batch row;
// "batch", a (b, tq, tk) mask whose second query row (of the b·tq) is fully blocked
// when fullRow. Any other kind adds nothing and returns (nil, nil).
func RandomMask(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, r *rand.Rand, kind string, b, tq, tk int, fullRow bool) (*G.Node, []bool) {
	t.Helper()
	switch kind {
	case "shared":
		blocked := RandomBlocked(r, tq, tk, 0.3, -1)
		return MaskInput(t, g, dt, "mask", tensor.Shape{tq, tk}, blocked), blocked
	case "batch":
		full := -1
		if fullRow {
			full = 1
		}
		blocked := RandomBlocked(r, b*tq, tk, 0.3, full)
		return MaskInput(t, g, dt, "mask", tensor.Shape{b, tq, tk}, blocked), blocked
	}
	return nil, nil
}

// Blocked is the reference of which scores attention blocks: query i of batch b may
// not see key j when causal (aligned bottom-right: j > i + tk − tq), when the boolean
// mask blocks it (mask is (tq, tk), or (B·tq, tk) when perBatch; nil for none), or when
// the key is padding (pad is (B, tk); nil for none).
func Blocked(causal bool, mask []bool, perBatch bool, pad []bool, tq, tk int) func(b, i, j int) bool {
	return func(b, i, j int) bool {
		if causal && j > i+tk-tq {
			return true
		}
		if mask != nil {
			m := i
			if perBatch {
				m += b * tq
			}
			if mask[m*tk+j] {
				return true
			}
		}
		return pad != nil && pad[b*tk+j]
	}
}
