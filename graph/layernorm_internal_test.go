package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lnReference is LayerNorm's output and gradients (dx, dgain, dbias) given dy, the way
// the backward ops computed them before the forward left its statistics: each row's
// mean and rstd recomputed by rowStats, dx by the generic row loop, dgain summed over
// all columns at once, row after row (one part), dbias the float64 column sums.
func lnReference[T num.Float](x, g, b, dy []T, c int, eps float64) (y, dx, dg, db []T) {
	rows := len(x) / c
	mean, rstd := make([]float64, rows), make([]float64, rows)
	for r := range rows {
		mean[r], rstd[r] = rowStats(x[r*c:(r+1)*c], eps)
	}
	y, dx, dg, db = make([]T, len(x)), make([]T, len(x)), make([]T, c), make([]T, c)
	fw := layerNormRows[T]{y, x, g, b, make([]float64, rows), make([]float64, rows), c, eps}
	bw := layerNormGradRows[T]{dx, x, g, dy, mean, rstd, c}
	for r := range rows {
		fw.Do(r)
		bw.Do(r)
	}
	layerNormGainCols[T]{dg, x, dy, mean, rstd, make([]float64, c), c, c}.Do(0)
	acc := make([]float64, c)
	for r := range rows {
		for j := range c {
			acc[j] += float64(dy[r*c+j])
		}
	}
	for j := range db {
		db[j] = T(acc[j])
	}
	return y, dx, dg, db
}

// lnRig is a graph of one LayerNorm (with or without a bias) and the cost Σ y ⊙ r, whose
// gradient with respect to y is exactly r.
type lnRig[T num.Float] struct {
	g                *G.ExprGraph
	x, gain, bias, r *G.Node
	y                *G.Node
	grads            G.Nodes // x, gain (, bias), by G.Grad
	// direct are the gradient nodes of the LayerNorm op given r as dy itself: nothing
	// but the backward ops' own inputs makes a program of them run the forward.
	direct G.Nodes
	c      int
}

func newLNRig[T num.Float](t *testing.T, shape tensor.Shape, withBias bool, eps float64) *lnRig[T] {
	t.Helper()
	dt := dtypeOf[T]()
	c := shape[len(shape)-1]
	s := &lnRig[T]{g: G.NewGraph(), c: c}
	in := func(name string, shape tensor.Shape) *G.Node {
		v := tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
		return G.NewTensor(s.g, dt, shape.Dims(), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(v))
	}
	s.x, s.gain, s.r = in("x", shape), in("gain", tensor.Shape{c}), in("r", shape)
	wrt := G.Nodes{s.x, s.gain}
	if withBias {
		s.bias = in("bias", tensor.Shape{c})
		wrt = append(wrt, s.bias)
	}
	var err error
	if s.y, err = LayerNorm(s.x, s.gain, s.bias, eps); err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(s.y, s.r)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	if s.grads, err = G.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	if s.direct, err = s.y.Op().(*op).SymDiff(wrt, s.y, s.r); err != nil {
		t.Fatal(err)
	}
	return s
}

// fill sets x, r, the gain and the bias to random values (x with an offset, as
// activations have) and returns them.
func (s *lnRig[T]) fill(rng *rand.Rand) (x, g, b, r []T) {
	set := func(n *G.Node, scale, off float64) []T {
		d := n.Value().(*tensor.Dense)
		v := data[T](d)
		for i := range v {
			v[i] = T(rng.NormFloat64()*scale + off)
		}
		return v
	}
	x, r = set(s.x, 2, 0.7), set(s.r, 1, 0)
	g = set(s.gain, 0.25, 1)
	if s.bias != nil {
		b = set(s.bias, 0.25, 0)
	}
	return x, g, b, r
}

// check compares the values got (y, dx, dgain, dbias; a nil one is skipped) with
// lnReference, bit for bit.
func (s *lnRig[T]) check(t *testing.T, what string, got [][]T, x, g, b, r []T, eps float64) {
	t.Helper()
	y, dx, dg, db := lnReference(x, g, b, r, s.c, eps)
	want := [][]T{y, dx, dg}
	if s.bias != nil {
		want = append(want, db)
	}
	names := []string{"y", "dx", "dgain", "dbias"}
	for k, w := range want {
		if got[k] == nil {
			continue // not asked for
		}
		if len(got[k]) != len(w) {
			t.Fatalf("%s: %s has %d elements; want %d", what, names[k], len(got[k]), len(w))
		}
		for i := range w {
			if float64(got[k][i]) != float64(w[i]) {
				t.Fatalf("%s: %s[%d] = %v; the recomputing reference gives %v", what, names[k], i, got[k][i], w[i])
			}
		}
	}
}

func valuesOf[T num.Float](t *testing.T, vals ...G.Value) [][]T {
	t.Helper()
	out := make([][]T, len(vals))
	for i, v := range vals {
		d, err := dense(v)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = append([]T(nil), data[T](d)...)
	}
	return out
}

// The LayerNorm backward ops, reading the row statistics the forward left, give
// exactly the gradients of the recomputing reference (and the forward its output), for
// both dtypes, under a Program and a TapeMachine, for row counts and widths off the
// blocks of 8 rows and 32 columns, small (serial) and large (split over the cores). A
// second run on other data gets that data's gradients, also after a forward-only
// program of the same graph ran on third data in between: no stale statistics.
func TestLayerNormBackwardFromForwardStats(t *testing.T) {
	for _, shape := range []tensor.Shape{{1, 5}, {3, 8}, {13, 12}, {9, 13}, {2, 7, 33}, {300, 100}, {768, 128}} {
		for _, bias := range []bool{false, true} {
			name := fmt.Sprintf("%v/bias:%v", shape, bias)
			t.Run("float64/"+name, func(t *testing.T) { testLNBackward[float64](t, shape, bias) })
			t.Run("float32/"+name, func(t *testing.T) { testLNBackward[float32](t, shape, bias) })
		}
	}
}

func testLNBackward[T num.Float](t *testing.T, shape tensor.Shape, bias bool) {
	const eps = 1e-5
	rng := rand.New(rand.NewPCG(uint64(shape.TotalSize()), 77))
	s := newLNRig[T](t, shape, bias, eps)
	// Programs of the gradients only, by G.Grad and direct; fwd runs the forward alone.
	p, err := NewProgram(s.grads...)
	if err != nil {
		t.Fatal(err)
	}
	pd, err := NewProgram(s.direct...)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := NewProgram(s.y)
	if err != nil {
		t.Fatal(err)
	}
	run := func(p *Program, outs G.Nodes) [][]T {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		vals := make([]G.Value, len(outs))
		for i, n := range outs {
			vals[i] = p.Value(n)
		}
		return append([][]T{nil}, valuesOf[T](t, vals...)...)
	}
	for k := range 2 {
		for _, pr := range []struct {
			name string
			p    *Program
			outs G.Nodes
		}{{"G.Grad", p, s.grads}, {"direct", pd, s.direct}} {
			x, g, b, r := s.fill(rng)
			// Copies: the data of the nodes change before the check.
			x, g, b, r = slices.Clone(x), slices.Clone(g), slices.Clone(b), slices.Clone(r)
			got := run(pr.p, pr.outs)
			// A forward-only run on other data: its statistics must not reach the
			// next backward pass, which runs on s.fill's next data.
			s.fill(rng)
			if err := fwd.Run(); err != nil {
				t.Fatal(err)
			}
			s.check(t, fmt.Sprintf("program of %s, run %d", pr.name, k), got, x, g, b, r, eps)
		}
	}
	x, g, b, r := s.fill(rng)
	m := G.NewTapeMachine(s.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, grads := range []G.Nodes{s.grads, s.direct} {
		vals := []G.Value{s.y.Value()}
		for _, n := range grads {
			vals = append(vals, n.Value())
		}
		s.check(t, "tape machine", valuesOf[T](t, vals...), x, g, b, r, eps)
	}
}

// The float32 gain gradient split into strips over the cores (gainStrips) gives exactly
// the one-strip serial sums, at widths whose strips are off the 4 and 8 lanes of the
// kernels; the float64 one too.
func TestLayerNormGradGainParallelMatchesSerial(t *testing.T) {
	testGainParts[float32](t)
	testGainParts[float64](t)
}

func testGainParts[T num.Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []int{31, 100, 128, 130, 200, 300} {
		const rows = 1200 // enough work to be split: rows·c/4 ≥ 1<<15 from c = 128 on
		x, dy := make([]T, rows*c), make([]T, rows*c)
		for i := range x {
			x[i], dy[i] = T(rng.NormFloat64()*3+1), T(rng.NormFloat64())
		}
		mean, rstd := make([]float64, rows), make([]float64, rows)
		for r := range rows {
			mean[r], rstd[r] = rowStats(x[r*c:(r+1)*c], 1e-5)
		}
		got, want := make([]T, c), make([]T, c)
		acc := make([]float64, c)
		for i := range acc {
			acc[i] = 1e9 // the op reuses acc from run to run: each part clears its own
		}
		if n, _ := gainStrips(c, rows*c/4); c >= 128 && n < 2 && par.Threads() > 1 {
			t.Fatalf("c %d: %d strip; want the loop split", c, n)
		}
		layerNormGradGain(got, x, dy, c, mean, rstd, acc)
		layerNormGainCols[T]{want, x, dy, mean, rstd, make([]float64, c), c, c}.Do(0)
		for j := range c {
			if float64(got[j]) != float64(want[j]) {
				t.Fatalf("%v, c %d: dgain[%d] = %v in parts; serially %v", dtypeOf[T](), c, j, got[j], want[j])
			}
		}
	}
}
