package graph_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ---- helpers shared by the tests of this package ----

// newRand returns a deterministic generator; every test draws from its own seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xa77e4d)) }

// machineCause returns the error an op returned inside a tape machine's error: Gorgonia
// v0.9.18 wraps it in a vmContextualError, which has Err() but no Unwrap, so errors.Is
// cannot see through it.
func machineCause(err error) error {
	var ce interface{ Err() error }
	if errors.As(err, &ce) {
		return ce.Err()
	}
	return err
}

// ---- references, written independently of the package's kernels ----

// coords returns the multi-index of flat index i in a row-major shape.
func coords(shape tensor.Shape, i int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

// maskKind is how a softmax mask lines up with x.
type maskKind int

const (
	noMask    maskKind = iota
	sharedTK           // (T, K) for every leading index
	perBatch           // (B, T, K) for x (B, H, T, K)
	sameShape          // x's own shape
)

func (k maskKind) String() string {
	return [...]string{"no mask", "shared (T,K) mask", "per-batch (B,T,K) mask", "same-shape mask"}[k]
}

// maskShape is the shape of a mask of this kind for x of shape xs.
func (k maskKind) maskShape(xs tensor.Shape) tensor.Shape {
	d := len(xs)
	switch k {
	case sharedTK:
		return tensor.Shape{xs[d-2], xs[d-1]}
	case perBatch:
		return tensor.Shape{xs[0], xs[2], xs[3]}
	case sameShape:
		return xs.Clone()
	}
	return nil
}

// at returns the flat mask index that governs x's element at idx.
func (k maskKind) at(xs tensor.Shape, idx []int) int {
	d := len(xs)
	switch k {
	case sharedTK:
		return idx[d-2]*xs[d-1] + idx[d-1]
	case perBatch:
		return (idx[0]*xs[2]+idx[2])*xs[3] + idx[3]
	}
	flat := 0
	for i := range xs {
		flat = flat*xs[i] + idx[i]
	}
	return flat
}

// refSoftmax is a plain float64 softmax (or log-softmax) over the last axis of x, where
// blocked(i) says whether flat element i is excluded: 0 (−Inf in log space) there, and a
// row with every element blocked is all 0 (−Inf).
func refSoftmax(x []float64, k int, blocked func(i int) bool, log bool) []float64 {
	out := make([]float64, len(x))
	for s := 0; s < len(x); s += k {
		mx := math.Inf(-1)
		for j := s; j < s+k; j++ {
			if !blocked(j) {
				mx = math.Max(mx, x[j])
			}
		}
		sum := 0.0
		for j := s; j < s+k; j++ {
			if !blocked(j) {
				sum += math.Exp(x[j] - mx)
			}
		}
		for j := s; j < s+k; j++ {
			switch {
			case blocked(j) && log:
				out[j] = math.Inf(-1)
			case blocked(j):
				out[j] = 0
			case log:
				out[j] = x[j] - mx - math.Log(sum)
			default:
				out[j] = math.Exp(x[j]-mx) / sum
			}
		}
	}
	return out
}

// refCrossEntropy is mean over scored rows (target ≥ 0) of logsumexp(row) − row[target].
func refCrossEntropy(logits []float64, targets []int, v int) float64 {
	sum, n := 0.0, 0
	for r, t := range targets {
		if t < 0 {
			continue
		}
		row := logits[r*v : (r+1)*v]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = math.Max(mx, x)
		}
		s := 0.0
		for _, x := range row {
			s += math.Exp(x - mx)
		}
		sum += mx + math.Log(s) - row[t]
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// attnShape describes one attention problem: q (B, Tq, C), k (B, Tk, C), v (B, Tk, Cv);
// 2-D inputs when twoD (B must be 1).
type attnShape struct {
	B, Tq, Tk, C, Cv int
	twoD             bool
}

func (s attnShape) q() tensor.Shape { return s.seq(s.Tq, s.C) }
func (s attnShape) k() tensor.Shape { return s.seq(s.Tk, s.C) }
func (s attnShape) v() tensor.Shape { return s.seq(s.Tk, s.Cv) }
func (s attnShape) seq(t, c int) tensor.Shape {
	if s.twoD {
		return tensor.Shape{t, c}
	}
	return tensor.Shape{s.B, t, c}
}

// refAttention computes multi-head attention with plain loops: heads are column blocks,
// blocked(b, i, j) excludes key j for query i of batch row b, a fully blocked query gets
// zero weights and a zero output. It returns out (B, Tq, Cv) and weights (B, H, Tq, Tk).
func refAttention(s attnShape, heads int, scale float64, q, k, v []float64, blocked func(b, i, j int) bool) (out, weights []float64) {
	w, wv := s.C/heads, s.Cv/heads
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(w))
	}
	out = make([]float64, s.B*s.Tq*s.Cv)
	weights = make([]float64, s.B*heads*s.Tq*s.Tk)
	for b := 0; b < s.B; b++ {
		for h := 0; h < heads; h++ {
			for i := 0; i < s.Tq; i++ {
				scores := make([]float64, s.Tk)
				for j := 0; j < s.Tk; j++ {
					for c := h * w; c < (h+1)*w; c++ {
						scores[j] += q[(b*s.Tq+i)*s.C+c] * k[(b*s.Tk+j)*s.C+c]
					}
					scores[j] *= scale
				}
				p := refSoftmax(scores, s.Tk, func(j int) bool { return blocked(b, i, j) }, false)
				copy(weights[((b*heads+h)*s.Tq+i)*s.Tk:], p)
				for c := h * wv; c < (h+1)*wv; c++ {
					for j := 0; j < s.Tk; j++ {
						out[(b*s.Tq+i)*s.Cv+c] += p[j] * v[(b*s.Tk+j)*s.Cv+c]
					}
				}
			}
		}
	}
	return out, weights
}

// ---- SoftMax and LogSoftMax ----

// softmaxCase is one shape and mask layout for SoftMax and LogSoftMax.
type softmaxCase struct {
	name  string
	shape tensor.Shape
	mask  maskKind
	full  int // a fully blocked row of the mask, or −1
}

func softmaxCases() []softmaxCase {
	return []softmaxCase{
		{"2d/no-mask", tensor.Shape{3, 5}, noMask, -1},
		{"2d/mask", tensor.Shape{3, 5}, sharedTK, -1},
		{"2d/fully-blocked-row", tensor.Shape{3, 5}, sharedTK, 1},
		{"3d/no-mask", tensor.Shape{2, 3, 4}, noMask, -1},
		{"3d/shared-mask", tensor.Shape{2, 3, 4}, sharedTK, -1},
		{"3d/same-shape-mask", tensor.Shape{2, 3, 4}, sameShape, -1},
		{"3d/fully-blocked-row", tensor.Shape{2, 3, 4}, sameShape, 4},
		{"4d/no-mask", tensor.Shape{2, 2, 3, 4}, noMask, -1},
		{"4d/shared-mask", tensor.Shape{2, 2, 3, 4}, sharedTK, -1},
		{"4d/per-batch-mask", tensor.Shape{2, 2, 3, 4}, perBatch, -1},
		{"4d/same-shape-mask", tensor.Shape{2, 2, 3, 4}, sameShape, -1},
		{"4d/fully-blocked-row", tensor.Shape{2, 2, 3, 4}, perBatch, 4},
	}
}

// build adds x (and the case's mask) to g and returns x, the mask node (or nil) and the
// flat "is blocked" function of x's elements.
func (c softmaxCase) build(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, r *rand.Rand, scale float64) (x, mask *G.Node, blocked func(int) bool) {
	t.Helper()
	x = graphtest.Input(g, dt, "x", c.shape, graphtest.Normals(r, c.shape.TotalSize(), scale))
	blocked = func(int) bool { return false }
	if c.mask == noMask {
		return x, nil, blocked
	}
	ms := c.mask.maskShape(c.shape)
	k := ms[len(ms)-1]
	bm := graphtest.RandomBlocked(r, ms.TotalSize()/k, k, 0.35, c.full)
	mask = graphtest.MaskInput(t, g, dt, "mask", ms, bm)
	return x, mask, func(i int) bool { return bm[c.mask.at(c.shape, coords(c.shape, i))] }
}

func softmaxOp(log bool) func(x, mask *G.Node) (*G.Node, error) {
	if log {
		return graph.LogSoftMax
	}
	return graph.SoftMax
}

func opName(log bool) string {
	if log {
		return "LogSoftMax"
	}
	return "SoftMax"
}

// TestSoftMaxMatchesReference checks SoftMax and LogSoftMax against refSoftmax for every
// shape and mask layout, and that each unblocked row of SoftMax sums to 1.
func TestSoftMaxMatchesReference(t *testing.T) {
	for i, c := range softmaxCases() {
		for _, log := range []bool{false, true} {
			t.Run(opName(log)+"/"+c.name, func(t *testing.T) {
				g := G.NewGraph()
				x, mask, blocked := c.build(t, g, tensor.Float64, newRand(uint64(100+i)), 2)
				y := graphtest.Must(t)(softmaxOp(log)(x, mask))
				if !y.Shape().Eq(c.shape) {
					t.Fatalf("shape %v, want %v", y.Shape(), c.shape)
				}
				graphtest.RunGraph(t, g)
				got := graphtest.Floats(y)
				want := refSoftmax(graphtest.Floats(x), c.shape[len(c.shape)-1], blocked, log)
				tol := 1e-14
				if log {
					tol = 1e-13
				}
				graphtest.ExpectClose(t, opName(log), got, want, tol)
				for j, v := range got {
					switch {
					case blocked(j) && log && !math.IsInf(v, -1):
						t.Errorf("blocked element %d = %v, want -Inf", j, v)
					case blocked(j) && !log && v != 0:
						t.Errorf("blocked element %d = %v, want exactly 0", j, v)
					}
				}
				if log {
					return
				}
				k := c.shape[len(c.shape)-1]
				for s := 0; s < len(got); s += k {
					sum, open := 0.0, false
					for j := s; j < s+k; j++ {
						sum += got[j]
						open = open || !blocked(j)
					}
					if open && math.Abs(sum-1) > 1e-14 {
						t.Errorf("row at %d sums to %.17g, want 1", s, sum)
					}
					if !open && sum != 0 {
						t.Errorf("fully blocked row at %d sums to %v, want 0", s, sum)
					}
				}
			})
		}
	}
}

// TestSoftMaxExtremeLogits checks logits far beyond exp's range: no NaN, no Inf, the
// right answer. Gorgonia's own SoftMax returns NaN for the rows [0 1 2], [1000 0 0].
func TestSoftMaxExtremeLogits(t *testing.T) {
	big := graphtest.Normals(newRand(7), 24, 1e3) // N(0, 1e6): differences of thousands within a row
	cases := []struct {
		name  string
		shape tensor.Shape
		x     []float64
		want  []float64 // softmax, exact where given; nil: compare with refSoftmax
	}{
		{"[1e4 0]", tensor.Shape{1, 2}, []float64{1e4, 0}, []float64{1, 0}},
		{"[0 1e4]", tensor.Shape{1, 2}, []float64{0, 1e4}, []float64{0, 1}},
		{"[-1e4 1e4 0]", tensor.Shape{1, 3}, []float64{-1e4, 1e4, 0}, []float64{0, 1, 0}},
		{"[1e4 1e4]", tensor.Shape{1, 2}, []float64{1e4, 1e4}, []float64{0.5, 0.5}},
		{"[-1e4 -1e4 -1e4 -1e4]", tensor.Shape{1, 4}, []float64{-1e4, -1e4, -1e4, -1e4}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"rows [0 1 2] [1000 0 0]", tensor.Shape{2, 3}, []float64{0, 1, 2, 1000, 0, 0}, nil},
		{"rows [1000 0 0] [0 1 2]", tensor.Shape{2, 3}, []float64{1000, 0, 0, 0, 1, 2}, nil},
		{"rows [-1e4 0 1e4] [1e4 -1e4 0] 3-D", tensor.Shape{2, 1, 3}, []float64{-1e4, 0, 1e4, 1e4, -1e4, 0}, []float64{0, 0, 1, 1, 0, 0}},
		{"N(0,1) scaled by 1e3", tensor.Shape{4, 6}, big, nil},
	}
	for _, c := range cases {
		for _, log := range []bool{false, true} {
			t.Run(opName(log)+"/"+c.name, func(t *testing.T) {
				g := G.NewGraph()
				x := graphtest.Input(g, tensor.Float64, "x", c.shape, c.x)
				y := graphtest.Must(t)(softmaxOp(log)(x, nil))
				graphtest.RunGraph(t, g)
				got := graphtest.Floats(y)
				graphtest.ExpectFinite(t, opName(log), got)
				want := refSoftmax(c.x, c.shape[len(c.shape)-1], func(int) bool { return false }, log)
				tol := 1e-15
				if c.want != nil && !log {
					want = c.want
				}
				if log { // values up to ~1e4: a few ulps of 1e4
					tol = 1e-11
				}
				graphtest.ExpectClose(t, opName(log), got, want, tol)
			})
		}
	}
	t.Run("row [1000 0 0] after [0 1 2] is [1 0 0]", func(t *testing.T) {
		g := G.NewGraph()
		x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, []float64{0, 1, 2, 1000, 0, 0})
		y := graphtest.Must(t)(graph.SoftMax(x, nil))
		graphtest.RunGraph(t, g)
		if got := graphtest.Floats(y)[3:]; got[0] != 1 || got[1] != 0 || got[2] != 0 {
			t.Errorf("row 2 = %v, want [1 0 0]", got)
		}
	})
}

// TestSoftMaxFullyBlockedRow checks that blocked entries are exactly 0 (−Inf for
// LogSoftMax), a fully blocked row is all 0 (−Inf), and the gradient at every blocked
// entry and on the whole blocked row is exactly 0.
func TestSoftMaxFullyBlockedRow(t *testing.T) {
	shape := tensor.Shape{2, 2, 3, 4} // mask (B, T, K) = (2, 3, 4); row (b=1, t=0) fully blocked
	for _, log := range []bool{false, true} {
		t.Run(opName(log), func(t *testing.T) {
			r := newRand(11)
			g := G.NewGraph()
			x := graphtest.Input(g, tensor.Float64, "x", shape, graphtest.Normals(r, shape.TotalSize(), 1))
			bm := graphtest.RandomBlocked(r, 6, 4, 0.3, 3)
			mask := graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{2, 3, 4}, bm)
			y := graphtest.Must(t)(softmaxOp(log)(x, mask))
			rv := graphtest.Input(g, tensor.Float64, "r", shape, graphtest.Uniforms(r, shape.TotalSize(), 0.5, 1.5))
			var cost *G.Node
			if log { // exp(−Inf·r) = 0 keeps the cost finite
				cost = graphtest.Must(t)(G.Sum(graphtest.Must(t)(G.Exp(graphtest.Must(t)(G.HadamardProd(y, rv))))))
			} else {
				cost = graphtest.WeightedSum(t, y, rv)
			}
			grads, err := G.Grad(cost, x)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			out, dx := graphtest.Floats(y), graphtest.Floats(grads[0])
			graphtest.ExpectFinite(t, "gradient", dx)
			nonzero := 0
			for i := range out {
				idx := coords(shape, i)
				isBlocked := bm[perBatch.at(shape, idx)]
				fullRow := idx[0] == 1 && idx[2] == 0
				switch {
				case isBlocked && log && !math.IsInf(out[i], -1):
					t.Errorf("y%v = %v, want -Inf", idx, out[i])
				case isBlocked && !log && out[i] != 0:
					t.Errorf("y%v = %v, want exactly 0", idx, out[i])
				}
				if (isBlocked || fullRow) && dx[i] != 0 {
					t.Errorf("gradient at blocked %v = %v, want exactly 0", idx, dx[i])
				}
				if !isBlocked && dx[i] != 0 {
					nonzero++
				}
				if fullRow && !isBlocked {
					t.Errorf("mask does not block %v of the fully blocked row", idx)
				}
			}
			if nonzero == 0 {
				t.Error("every gradient is 0: the cost does not depend on x")
			}
		})
	}
}

// TestLogSoftMaxIsLogOfSoftMax checks LogSoftMax against log(SoftMax) of the same input
// in the same graph: the two must not be merged into one node (Gorgonia's own pair is).
func TestLogSoftMaxIsLogOfSoftMax(t *testing.T) {
	r := newRand(12)
	g := G.NewGraph()
	shape := tensor.Shape{2, 4, 6}
	x := graphtest.Input(g, tensor.Float64, "x", shape, graphtest.Normals(r, shape.TotalSize(), 3))
	bm := graphtest.RandomBlocked(r, 4, 6, 0.4, 2)
	mask := graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{4, 6}, bm)
	p := graphtest.Must(t)(graph.SoftMax(x, mask))
	lp := graphtest.Must(t)(graph.LogSoftMax(x, mask))
	pNoMask := graphtest.Must(t)(graph.SoftMax(x, nil))
	if p == lp || p == pNoMask {
		t.Fatal("SoftMax, LogSoftMax and unmasked SoftMax of one x were merged into one node")
	}
	graphtest.RunGraph(t, g)
	pv, lv := graphtest.Floats(p), graphtest.Floats(lp)
	for i := range pv {
		blocked := bm[sharedTK.at(shape, coords(shape, i))]
		switch {
		case blocked && !math.IsInf(lv[i], -1):
			t.Errorf("LogSoftMax at blocked %v = %v, want -Inf", coords(shape, i), lv[i])
		case !blocked && math.Abs(lv[i]-math.Log(pv[i])) > 1e-13*math.Max(1, math.Abs(lv[i])):
			t.Errorf("LogSoftMax at %v = %.17g, log(SoftMax) = %.17g", coords(shape, i), lv[i], math.Log(pv[i]))
		}
	}
	if d, _ := graphtest.WorstDiff(graphtest.Floats(pNoMask), pv); d == 0 {
		t.Error("masked and unmasked SoftMax agree everywhere: the mask was ignored")
	}
}

// TestMaskChangesBetweenRuns checks that a mask is an input: SetMask between two runs of
// one machine changes the result.
func TestMaskChangesBetweenRuns(t *testing.T) {
	g := G.NewGraph()
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, []float64{1, 2, 3, 3, 2, 1})
	mask := graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{2, 3}, make([]bool, 6))
	y := graphtest.Must(t)(graph.SoftMax(x, mask))
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	open := graphtest.Floats(y)
	if err := graph.SetMask(mask, []bool{false, true, true, true, true, false}); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	graphtest.ExpectClose(t, "before", open, refSoftmax([]float64{1, 2, 3, 3, 2, 1}, 3, func(int) bool { return false }, false), 1e-15)
	graphtest.ExpectClose(t, "after SetMask", graphtest.Floats(y), []float64{1, 0, 0, 0, 0, 1}, 0)
}

// ---- CrossEntropy ----

// TestCrossEntropy checks the loss against refCrossEntropy and its gradient against
// (softmax − onehot)/n on scored rows, exactly 0 on ignored rows.
func TestCrossEntropy(t *testing.T) {
	cases := []struct {
		name    string
		shape   tensor.Shape // logits
		targets []int
		scale   float64
	}{
		{"(N,V) all scored", tensor.Shape{4, 5}, []int{0, 4, 2, 2}, 1},
		{"(N,V) some ignored", tensor.Shape{5, 3}, []int{1, -1, 0, -1, 2}, 2},
		{"(B,T,V) some ignored", tensor.Shape{2, 3, 4}, []int{3, -1, 0, 1, 2, -1}, 1},
		{"one row", tensor.Shape{1, 6}, []int{5}, 1},
		{"all ignored", tensor.Shape{2, 2, 3}, []int{-1, -1, -1, -1}, 1},
		{"logits scaled by 1e3", tensor.Shape{3, 4}, []int{0, 1, 3}, 1e3},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			logits := graphtest.Input(g, tensor.Float64, "logits", c.shape, graphtest.Normals(newRand(uint64(200+i)), c.shape.TotalSize(), c.scale))
			targets := graphtest.IntInput(g, "targets", c.shape[:len(c.shape)-1], c.targets)
			loss := graphtest.Must(t)(graph.CrossEntropy(logits, targets))
			if !loss.IsScalar() {
				t.Fatalf("loss has shape %v; want a scalar", loss.Shape())
			}
			grads, err := G.Grad(loss, logits)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			lv := graphtest.Floats(logits)
			v := c.shape[len(c.shape)-1]
			want := refCrossEntropy(lv, c.targets, v)
			got := graphtest.Floats(loss)[0]
			if math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
				t.Errorf("loss = %.17g, want %.17g", got, want)
			}
			n := 0
			for _, tg := range c.targets {
				if tg >= 0 {
					n++
				}
			}
			wantGrad := make([]float64, len(lv))
			for r, tg := range c.targets {
				if tg < 0 {
					continue
				}
				p := refSoftmax(lv[r*v:(r+1)*v], v, func(int) bool { return false }, false)
				for j := range p {
					wantGrad[r*v+j] = p[j] / float64(n)
				}
				wantGrad[r*v+tg] -= 1 / float64(n)
			}
			dx := graphtest.Floats(grads[0])
			graphtest.ExpectClose(t, "gradient", dx, wantGrad, 1e-15)
			for r, tg := range c.targets {
				for j := 0; j < v && tg < 0; j++ {
					if dx[r*v+j] != 0 {
						t.Errorf("gradient of ignored row %d = %v, want exactly 0", r, dx[r*v:(r+1)*v])
						break
					}
				}
			}
		})
	}
}

// TestCrossEntropyHandComputed checks one loss worked out by hand: rows [0 0] and
// [ln 3, 0] with targets 0 and 1, and an ignored third row.
func TestCrossEntropyHandComputed(t *testing.T) {
	g := G.NewGraph()
	logits := graphtest.Input(g, tensor.Float64, "logits", tensor.Shape{3, 2}, []float64{0, 0, math.Log(3), 0, 100, -100})
	targets := graphtest.IntInput(g, "targets", tensor.Shape{3}, []int{0, 1, -1})
	loss := graphtest.Must(t)(graph.CrossEntropy(logits, targets))
	graphtest.RunGraph(t, g)
	// row 0: log 2; row 1: log(3 + 1) − 0 = log 4; mean: (log 2 + log 4) / 2 = 1.5 log 2.
	if got, want := graphtest.Floats(loss)[0], 1.5*math.Ln2; math.Abs(got-want) > 1e-15 {
		t.Errorf("loss = %.17g, want 1.5·ln 2 = %.17g", got, want)
	}
}

// TestCrossEntropyTargetOutOfRange checks that a target ≥ V fails when the machine runs,
// with an error rather than a panic, in the forward and the backward pass.
func TestCrossEntropyTargetOutOfRange(t *testing.T) {
	for _, c := range []struct {
		name    string
		targets []int
		grad    bool
	}{
		{"target = V", []int{0, 3}, false},
		{"target > V", []int{7, 1}, false},
		{"target = V with gradient", []int{1, 3}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			logits := graphtest.Input(g, tensor.Float64, "logits", tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6})
			targets := graphtest.IntInput(g, "targets", tensor.Shape{2}, c.targets)
			loss := graphtest.Must(t)(graph.CrossEntropy(logits, targets))
			if c.grad {
				if _, err := G.Grad(loss, logits); err != nil {
					t.Fatal(err)
				}
			}
			err := graphtest.RunAll(g)
			if err == nil {
				t.Fatal("no error for a target outside the vocabulary")
			}
			if !errors.Is(machineCause(err), graph.ErrArgument) {
				t.Errorf("error %q does not wrap graph.ErrArgument", err)
			}
		})
	}
}

// ---- float32 ----

// TestFloat32MatchesFloat64 runs each op, and its gradient, in both dtypes on the same
// (float32-representable) values.
func TestFloat32MatchesFloat64(t *testing.T) {
	type result struct{ out, grad []float64 }
	s := attnShape{B: 2, Tq: 4, Tk: 4, C: 6, Cv: 4}
	cases := []struct {
		name  string
		build func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (out, wrt *G.Node)
	}{
		{"SoftMax with mask", func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (*G.Node, *G.Node) {
			r := newRand(301)
			x := graphtest.Input(g, dt, "x", tensor.Shape{2, 3, 5}, graphtest.Normals(r, 30, 3))
			m := graphtest.MaskInput(t, g, dt, "mask", tensor.Shape{3, 5}, graphtest.RandomBlocked(r, 3, 5, 0.3, 2))
			return graphtest.Must(t)(graph.SoftMax(x, m)), x
		}},
		{"LogSoftMax", func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (*G.Node, *G.Node) {
			x := graphtest.Input(g, dt, "x", tensor.Shape{3, 5}, graphtest.Normals(newRand(302), 15, 3))
			return graphtest.Must(t)(graph.LogSoftMax(x, nil)), x
		}},
		{"SoftMax of logits up to 1e4", func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (*G.Node, *G.Node) {
			x := graphtest.Input(g, dt, "x", tensor.Shape{2, 3}, []float64{1e4, 0, -1e4, 0, 1, 2})
			return graphtest.Must(t)(graph.SoftMax(x, nil)), x
		}},
		{"CrossEntropy", func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (*G.Node, *G.Node) {
			x := graphtest.Input(g, dt, "logits", tensor.Shape{2, 3, 4}, graphtest.Normals(newRand(303), 24, 2))
			tg := graphtest.IntInput(g, "targets", tensor.Shape{2, 3}, []int{0, 3, -1, 2, 1, -1})
			return graphtest.Must(t)(graph.CrossEntropy(x, tg)), x
		}},
		{"Attention, 2 heads, causal, mask, key padding", func(t *testing.T, g *G.ExprGraph, dt tensor.Dtype) (*G.Node, *G.Node) {
			r := newRand(304)
			q := graphtest.Input(g, dt, "q", s.q(), graphtest.Normals(r, s.q().TotalSize(), 1))
			k := graphtest.Input(g, dt, "k", s.k(), graphtest.Normals(r, s.k().TotalSize(), 1))
			v := graphtest.Input(g, dt, "v", s.v(), graphtest.Normals(r, s.v().TotalSize(), 1))
			m := graphtest.MaskInput(t, g, dt, "mask", tensor.Shape{4, 4}, graphtest.RandomBlocked(r, 4, 4, 0.2, -1))
			pad := graphtest.MaskInput(t, g, dt, "pad", tensor.Shape{2, 4}, []bool{false, false, false, true, false, false, false, false})
			out, _, err := graph.Attention(q, k, v, graph.AttentionOpts{Heads: 2, Causal: true, Mask: m, KeyPadding: pad})
			return graphtest.Must(t)(out, err), q
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := map[tensor.Dtype]result{}
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				g := G.NewGraph()
				out, wrt := c.build(t, g, dt)
				cost := out
				if !out.IsScalar() {
					rv := graphtest.Input(g, dt, "r", out.Shape(), graphtest.Uniforms(newRand(305), out.Shape().TotalSize(), 0.5, 1.5))
					if c.name == "LogSoftMax" || c.name == "SoftMax with mask" {
						cost = graphtest.Must(t)(G.Sum(graphtest.Must(t)(G.Exp(graphtest.Must(t)(G.HadamardProd(out, rv))))))
					} else {
						cost = graphtest.WeightedSum(t, out, rv)
					}
				}
				grads, err := G.Grad(cost, wrt)
				if err != nil {
					t.Fatal(err)
				}
				graphtest.RunGraph(t, g)
				if out.Dtype() != dt || grads[0].Dtype() != dt {
					t.Fatalf("output %v, gradient %v; want %v", out.Dtype(), grads[0].Dtype(), dt)
				}
				res[dt] = result{graphtest.Floats(out), graphtest.Floats(grads[0])}
				graphtest.ExpectFinite(t, fmt.Sprintf("%v gradient", dt), res[dt].grad)
			}
			graphtest.ExpectClose(t, "float32 output", res[tensor.Float32].out, res[tensor.Float64].out, 2e-6)
			graphtest.ExpectClose(t, "float32 gradient", res[tensor.Float32].grad, res[tensor.Float64].grad, 2e-5)
		})
	}
}

// ---- Attention ----

// attnCase is one Attention configuration; mask and pad, when set, are generated per
// batch row from the case's seed.
type attnCase struct {
	name     string
	s        attnShape
	heads    int
	scale    float64
	causal   bool
	mask     string // "", "shared" (Tq, Tk) or "batch" (B, Tq, Tk)
	padLens  []int  // key lengths per batch row, nil for no key padding
	fullMask bool   // block every key of query 1 in the mask
}

func attnCases() []attnCase {
	return []attnCase{
		{name: "2d/1-head", s: attnShape{B: 1, Tq: 4, Tk: 4, C: 4, Cv: 4, twoD: true}},
		{name: "2d/2-heads/causal", s: attnShape{B: 1, Tq: 4, Tk: 4, C: 4, Cv: 6, twoD: true}, heads: 2, causal: true},
		{name: "3d/1-head", s: attnShape{B: 2, Tq: 3, Tk: 3, C: 4, Cv: 4}},
		{name: "3d/2-heads", s: attnShape{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4}, heads: 2},
		{name: "3d/2-heads/causal", s: attnShape{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4}, heads: 2, causal: true},
		{name: "3d/2-heads/shared-mask", s: attnShape{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4}, heads: 2, mask: "shared"},
		{name: "3d/1-head/per-batch-mask", s: attnShape{B: 2, Tq: 3, Tk: 4, C: 4, Cv: 2}, mask: "batch"},
		{name: "3d/2-heads/key-padding", s: attnShape{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4}, heads: 2, padLens: []int{2, 4}},
		{name: "3d/cross/Tq<Tk", s: attnShape{B: 2, Tq: 2, Tk: 5, C: 4, Cv: 6}, heads: 2},
		{name: "3d/cross/Tq<Tk/causal", s: attnShape{B: 2, Tq: 2, Tk: 5, C: 4, Cv: 4}, causal: true},
		{name: "3d/cross/Tq>Tk/causal", s: attnShape{B: 1, Tq: 4, Tk: 2, C: 2, Cv: 2}, causal: true},
		{name: "2d/cross/key-padding", s: attnShape{B: 1, Tq: 3, Tk: 5, C: 4, Cv: 4, twoD: true}, heads: 2, padLens: []int{3}},
		{name: "3d/custom-scale", s: attnShape{B: 2, Tq: 3, Tk: 3, C: 4, Cv: 4}, heads: 2, scale: 0.7},
		{name: "3d/causal+mask+padding+fully-blocked-query", s: attnShape{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4}, heads: 2,
			causal: true, mask: "batch", padLens: []int{3, 4}, fullMask: true},
	}
}

// attnGraph is an Attention case built in a graph.
type attnGraph struct {
	q, k, v, mask, pad *G.Node
	out, weights       *G.Node
	blocked            func(b, i, j int) bool
}

func (c attnCase) build(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, seed uint64) attnGraph {
	t.Helper()
	r := newRand(seed)
	s := c.s
	a := attnGraph{
		q: graphtest.Input(g, dt, "q", s.q(), graphtest.Normals(r, s.q().TotalSize(), 1)),
		k: graphtest.Input(g, dt, "k", s.k(), graphtest.Normals(r, s.k().TotalSize(), 1)),
		v: graphtest.Input(g, dt, "v", s.v(), graphtest.Normals(r, s.v().TotalSize(), 1)),
	}
	var mask, pad []bool
	perBatch := c.mask == "batch"
	a.mask, mask = graphtest.RandomMask(t, g, dt, r, c.mask, s.B, s.Tq, s.Tk, c.fullMask)
	if c.padLens != nil {
		var err error
		if pad, err = graph.KeyPaddingMask(c.padLens, s.Tk); err != nil {
			t.Fatal(err)
		}
		a.pad = graphtest.MaskInput(t, g, dt, "pad", tensor.Shape{s.B, s.Tk}, pad)
	}
	a.blocked = graphtest.Blocked(c.causal, mask, perBatch, pad, s.Tq, s.Tk)
	var err error
	a.out, a.weights, err = graph.Attention(a.q, a.k, a.v, graph.AttentionOpts{
		Heads: c.heads, Scale: c.scale, Causal: c.causal, Mask: a.mask, KeyPadding: a.pad})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAttentionMatchesReference checks Attention's output and weights against
// refAttention, and their shapes.
func TestAttentionMatchesReference(t *testing.T) {
	for i, c := range attnCases() {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			a := c.build(t, g, tensor.Float64, uint64(400+i))
			heads := max(c.heads, 1)
			s := c.s
			if ws := (tensor.Shape{s.B, heads, s.Tq, s.Tk}); !a.weights.Shape().Eq(ws) {
				t.Errorf("weights shape %v, want %v", a.weights.Shape(), ws)
			}
			if os := s.seq(s.Tq, s.Cv); !a.out.Shape().Eq(os) {
				t.Errorf("output shape %v, want %v", a.out.Shape(), os)
			}
			graphtest.RunGraph(t, g)
			wantOut, wantW := refAttention(s, heads, c.scale, graphtest.Floats(a.q), graphtest.Floats(a.k), graphtest.Floats(a.v), a.blocked)
			graphtest.ExpectClose(t, "weights", graphtest.Floats(a.weights), wantW, 1e-14)
			graphtest.ExpectClose(t, "output", graphtest.Floats(a.out), wantOut, 1e-13)
			w := graphtest.Floats(a.weights)
			for idx := range w {
				co := coords(a.weights.Shape(), idx)
				if a.blocked(co[0], co[2], co[3]) && w[idx] != 0 {
					t.Errorf("weight %v of a blocked key = %v, want exactly 0", co, w[idx])
				}
			}
		})
	}
}

// TestAttentionFullyBlockedQuery checks that a query with every key blocked gets zero
// weights, a zero output row and zero gradient (PyTorch gives NaN there).
func TestAttentionFullyBlockedQuery(t *testing.T) {
	g := G.NewGraph()
	c := attnCase{s: attnShape{B: 2, Tq: 3, Tk: 3, C: 4, Cv: 4}, heads: 2, mask: "batch", fullMask: true} // query (b=0, i=1)
	a := c.build(t, g, tensor.Float64, 501)
	r := graphtest.Input(g, tensor.Float64, "r", a.out.Shape(), graphtest.Uniforms(newRand(502), a.out.Shape().TotalSize(), -1, 1))
	grads, err := G.Grad(graphtest.WeightedSum(t, a.out, r), a.q, a.k, a.v)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.RunGraph(t, g)
	out, w, dq := graphtest.Floats(a.out), graphtest.Floats(a.weights), graphtest.Floats(grads[0])
	for h := 0; h < 2; h++ {
		row := w[(h*3+1)*3 : (h*3+2)*3]
		for _, x := range row {
			if x != 0 {
				t.Errorf("weights of the blocked query, head %d = %v, want zeros", h, row)
				break
			}
		}
	}
	for c := 0; c < 4; c++ {
		if out[4+c] != 0 || dq[4+c] != 0 {
			t.Errorf("blocked query: output row %v, q gradient %v; want zeros", out[4:8], dq[4:8])
			break
		}
	}
	for i, gr := range grads {
		graphtest.ExpectFinite(t, fmt.Sprintf("gradient %d", i), graphtest.Floats(gr))
	}
}

// TestCausalEqualsCausalMask checks AttentionOpts.Causal against the same pattern given
// as a mask, for Tq = Tk, Tq < Tk and Tq > Tk: identical results, bit for bit.
func TestCausalEqualsCausalMask(t *testing.T) {
	for _, s := range []attnShape{
		{B: 2, Tq: 4, Tk: 4, C: 4, Cv: 4},
		{B: 2, Tq: 2, Tk: 5, C: 4, Cv: 4},
		{B: 1, Tq: 4, Tk: 2, C: 4, Cv: 4},
	} {
		t.Run(fmt.Sprintf("Tq=%d,Tk=%d", s.Tq, s.Tk), func(t *testing.T) {
			g := G.NewGraph()
			r := newRand(601)
			q := graphtest.Input(g, tensor.Float64, "q", s.q(), graphtest.Normals(r, s.q().TotalSize(), 1))
			k := graphtest.Input(g, tensor.Float64, "k", s.k(), graphtest.Normals(r, s.k().TotalSize(), 1))
			v := graphtest.Input(g, tensor.Float64, "v", s.v(), graphtest.Normals(r, s.v().TotalSize(), 1))
			m := graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{s.Tq, s.Tk}, graph.CausalMask(s.Tq, s.Tk))
			o1, w1, err := graph.Attention(q, k, v, graph.AttentionOpts{Heads: 2, Causal: true})
			if err != nil {
				t.Fatal(err)
			}
			o2, w2, err := graph.Attention(q, k, v, graph.AttentionOpts{Heads: 2, Mask: m})
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			graphtest.ExpectClose(t, "output", graphtest.Floats(o2), graphtest.Floats(o1), 0)
			graphtest.ExpectClose(t, "weights", graphtest.Floats(w2), graphtest.Floats(w1), 0)
		})
	}
}

// TestAttentionWeightsThenApplyWeights checks that AttentionWeights followed by
// ApplyWeights is Attention.
func TestAttentionWeightsThenApplyWeights(t *testing.T) {
	g := G.NewGraph()
	s := attnShape{B: 2, Tq: 3, Tk: 4, C: 4, Cv: 6}
	r := newRand(701)
	q := graphtest.Input(g, tensor.Float64, "q", s.q(), graphtest.Normals(r, s.q().TotalSize(), 1))
	k := graphtest.Input(g, tensor.Float64, "k", s.k(), graphtest.Normals(r, s.k().TotalSize(), 1))
	v := graphtest.Input(g, tensor.Float64, "v", s.v(), graphtest.Normals(r, s.v().TotalSize(), 1))
	opts := graph.AttentionOpts{Heads: 2, Causal: true, Scale: 0.4}
	out, weights, err := graph.Attention(q, k, v, opts)
	if err != nil {
		t.Fatal(err)
	}
	w2 := graphtest.Must(t)(graph.AttentionWeights(q, k, opts))
	out2 := graphtest.Must(t)(graph.ApplyWeights(w2, v))
	graphtest.RunGraph(t, g)
	graphtest.ExpectClose(t, "weights", graphtest.Floats(w2), graphtest.Floats(weights), 0)
	graphtest.ExpectClose(t, "output", graphtest.Floats(out2), graphtest.Floats(out), 0)
}

// ---- masks ----

func pattern(m []bool, cols int) string {
	s := ""
	for i, b := range m {
		if i > 0 && i%cols == 0 {
			s += "|"
		}
		if b {
			s += "x"
		} else {
			s += "."
		}
	}
	return s
}

func TestCausalMask(t *testing.T) {
	for _, c := range []struct {
		tq, tk int
		want   string
	}{
		{1, 1, "."},
		{3, 3, ".xx|..x|..."},
		{2, 4, "...x|...."},
		{4, 2, "xx|xx|.x|.."},
	} {
		t.Run(fmt.Sprintf("%dx%d", c.tq, c.tk), func(t *testing.T) {
			if got := pattern(graph.CausalMask(c.tq, c.tk), c.tk); got != c.want {
				t.Errorf("CausalMask(%d, %d) = %s, want %s", c.tq, c.tk, got, c.want)
			}
		})
	}
}

func TestKeyPaddingMask(t *testing.T) {
	m, err := graph.KeyPaddingMask([]int{0, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pattern(m, 3), "xxx|..x|..."; got != want {
		t.Errorf("KeyPaddingMask([0 2 3], 3) = %s, want %s", got, want)
	}
}

func TestNewMaskAndSetMask(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			g := G.NewGraph()
			m, err := graph.NewMask(g, dt, tensor.Shape{2, 3}, "mask")
			if err != nil {
				t.Fatal(err)
			}
			if m.Dtype() != dt || !m.Shape().Eq(tensor.Shape{2, 3}) || m.Name() != "mask" {
				t.Fatalf("mask %q is %v %v", m.Name(), m.Dtype(), m.Shape())
			}
			graphtest.ExpectClose(t, "new mask", graphtest.Floats(m), make([]float64, 6), 0)
			if err := graph.SetMask(m, []bool{true, false, false, false, true, true}); err != nil {
				t.Fatal(err)
			}
			graphtest.ExpectClose(t, "mask", graphtest.Floats(m), []float64{1, 0, 0, 0, 1, 1}, 0)
			if err := graph.SetMask(m, []bool{false, true, false, false, false, false}); err != nil {
				t.Fatal(err)
			}
			graphtest.ExpectClose(t, "mask set again", graphtest.Floats(m), []float64{0, 1, 0, 0, 0, 0}, 0)
		})
	}
}

// ---- bad input ----

func f64(g *G.ExprGraph, name string, shape ...int) *G.Node {
	return graphtest.Input(g, tensor.Float64, name, shape, make([]float64, tensor.Shape(shape).TotalSize()))
}

func f32(g *G.ExprGraph, name string, shape ...int) *G.Node {
	return graphtest.Input(g, tensor.Float32, name, shape, make([]float64, tensor.Shape(shape).TotalSize()))
}

func ints(g *G.ExprGraph, name string, shape ...int) *G.Node {
	return graphtest.IntInput(g, name, shape, make([]int, tensor.Shape(shape).TotalSize()))
}

func err2(_ *G.Node, err error) error            { return err }
func err3(_ *G.Node, _ *G.Node, err error) error { return err }
func newMask(g *G.ExprGraph, dt tensor.Dtype, s ...int) *G.Node {
	m, err := graph.NewMask(g, dt, s, "mask")
	if err != nil {
		panic(err)
	}
	return m
}

func TestSoftMaxBadInput(t *testing.T) {
	var cases []graphtest.BadCase
	for _, log := range []bool{false, true} {
		op := softmaxOp(log)
		p := opName(log) + "/"
		cases = append(cases,
			graphtest.BadCase{Name: p + "nil x", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(op(nil, nil)) }},
			graphtest.BadCase{Name: p + "1-D x", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error { return err2(op(f64(g, "x", 4), nil)) }},
			graphtest.BadCase{Name: p + "5-D x", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error { return err2(op(f64(g, "x", 1, 2, 2, 2, 2), nil)) }},
			graphtest.BadCase{Name: p + "int x", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(op(ints(g, "x", 2, 3), nil)) }},
			graphtest.BadCase{Name: p + "float32 mask, float64 x", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 3), newMask(g, tensor.Float32, 2, 3)))
			}},
			graphtest.BadCase{Name: p + "mask of the wrong width", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 3), newMask(g, tensor.Float64, 2, 4)))
			}},
			graphtest.BadCase{Name: p + "mask of the wrong rows", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 3, 4), newMask(g, tensor.Float64, 2, 4)))
			}},
			graphtest.BadCase{Name: p + "(B,T,K) mask on 3-D x of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 3, 4), newMask(g, tensor.Float64, 3, 3, 4)))
			}},
			graphtest.BadCase{Name: p + "(B,T,K) mask on 4-D x of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 2, 3, 4), newMask(g, tensor.Float64, 3, 3, 4)))
			}},
			graphtest.BadCase{Name: p + "(H,T,K) mask on 4-D x", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
				return err2(op(f64(g, "x", 2, 5, 3, 4), newMask(g, tensor.Float64, 5, 3, 4)))
			}},
		)
	}
	graphtest.RunBadCases(t, cases)
}

func TestCrossEntropyBadInput(t *testing.T) {
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "nil logits", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(nil, ints(g, "t", 2))) }},
		{Name: "nil targets", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(f64(g, "l", 2, 3), nil)) }},
		{Name: "float targets", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(f64(g, "l", 2, 3), f64(g, "t", 2))) }},
		{Name: "int logits", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(ints(g, "l", 2, 3), ints(g, "t", 2))) }},
		{Name: "1-D logits", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(f64(g, "l", 3), ints(g, "t", 1))) }},
		{Name: "4-D logits", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.CrossEntropy(f64(g, "l", 1, 2, 2, 3), ints(g, "t", 1, 2, 2)))
		}},
		{Name: "targets of the wrong length", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error { return err2(graph.CrossEntropy(f64(g, "l", 2, 3), ints(g, "t", 3))) }},
		{Name: "targets of the wrong dims", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.CrossEntropy(f64(g, "l", 2, 3, 4), ints(g, "t", 6)))
		}},
		{Name: "targets shaped like logits", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.CrossEntropy(f64(g, "l", 2, 3), ints(g, "t", 2, 3)))
		}},
	})
}

func TestAttentionBadInput(t *testing.T) {
	qkv := func(g *G.ExprGraph) (q, k, v *G.Node) {
		return f64(g, "q", 2, 3, 4), f64(g, "k", 2, 5, 4), f64(g, "v", 2, 5, 6)
	}
	att := func(o graph.AttentionOpts) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, o))
		}
	}
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "nil q", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			_, k, v := qkv(g)
			return err3(graph.Attention(nil, k, v, graph.AttentionOpts{}))
		}},
		{Name: "nil k", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			q, _, v := qkv(g)
			return err3(graph.Attention(q, nil, v, graph.AttentionOpts{}))
		}},
		{Name: "nil v", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			q, k, _ := qkv(g)
			return err3(graph.Attention(q, k, nil, graph.AttentionOpts{}))
		}},
		{Name: "int q", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			_, k, v := qkv(g)
			return err3(graph.Attention(ints(g, "qi", 2, 3, 4), k, v, graph.AttentionOpts{}))
		}},
		{Name: "float32 k with float64 q", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			q, _, v := qkv(g)
			return err3(graph.Attention(q, f32(g, "k32", 2, 5, 4), v, graph.AttentionOpts{}))
		}},
		{Name: "float32 v with float64 q", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			q, k, _ := qkv(g)
			return err3(graph.Attention(q, k, f32(g, "v32", 2, 5, 6), graph.AttentionOpts{}))
		}},
		{Name: "1-D q", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, k, v := qkv(g)
			return err3(graph.Attention(f64(g, "q1", 4), k, v, graph.AttentionOpts{}))
		}},
		{Name: "4-D q and k", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			return err3(graph.Attention(f64(g, "q4", 1, 2, 3, 4), f64(g, "k4", 1, 2, 3, 4), f64(g, "v4", 1, 2, 3, 4), graph.AttentionOpts{}))
		}},
		{Name: "2-D q, 3-D k", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, k, v := qkv(g)
			return err3(graph.Attention(f64(g, "q2", 3, 4), k, v, graph.AttentionOpts{}))
		}},
		{Name: "q and k of other widths", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err3(graph.Attention(f64(g, "q5", 2, 3, 5), f64(g, "k", 2, 5, 4), v, graph.AttentionOpts{}))
		}},
		{Name: "q and k of other batches", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err3(graph.Attention(f64(g, "q3", 3, 3, 4), f64(g, "k", 2, 5, 4), v, graph.AttentionOpts{}))
		}},
		{Name: "v with other keys than k", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, _ := qkv(g)
			return err3(graph.Attention(q, k, f64(g, "v4", 2, 4, 6), graph.AttentionOpts{}))
		}},
		{Name: "v of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, _ := qkv(g)
			return err3(graph.Attention(q, k, f64(g, "vb", 3, 5, 6), graph.AttentionOpts{}))
		}},
		{Name: "2-D v for 3-D q, k", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, _ := qkv(g)
			return err3(graph.Attention(q, k, f64(g, "v2", 5, 6), graph.AttentionOpts{Heads: 1}))
		}},
		{Name: "heads not dividing q's width", Want: graph.ErrShape, Build: att(graph.AttentionOpts{Heads: 3})},
		{Name: "heads not dividing v's width", Want: graph.ErrShape, Build: att(graph.AttentionOpts{Heads: 4})},
		{Name: "negative heads", Want: graph.ErrArgument, Build: att(graph.AttentionOpts{Heads: -2})},
		{Name: "NaN scale", Want: graph.ErrArgument, Build: att(graph.AttentionOpts{Scale: math.NaN()})},
		{Name: "+Inf scale", Want: graph.ErrArgument, Build: att(graph.AttentionOpts{Scale: math.Inf(1)})},
		{Name: "-Inf scale", Want: graph.ErrArgument, Build: att(graph.AttentionOpts{Scale: math.Inf(-1)})},
		{Name: "mask (Tk, Tq)", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{Mask: newMask(g, tensor.Float64, 5, 3)}))
		}},
		{Name: "mask of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{Mask: newMask(g, tensor.Float64, 3, 3, 5)}))
		}},
		{Name: "mask (B, H, Tq, Tk)", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{Mask: newMask(g, tensor.Float64, 2, 1, 3, 5)}))
		}},
		{Name: "float32 mask", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{Mask: newMask(g, tensor.Float32, 3, 5)}))
		}},
		{Name: "key padding (B, Tq)", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{KeyPadding: newMask(g, tensor.Float64, 2, 3)}))
		}},
		{Name: "key padding of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{KeyPadding: newMask(g, tensor.Float64, 1, 5)}))
		}},
		{Name: "key padding (B, Tq, Tk)", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{KeyPadding: newMask(g, tensor.Float64, 2, 3, 5)}))
		}},
		{Name: "float32 key padding", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			q, k, v := qkv(g)
			return err3(graph.Attention(q, k, v, graph.AttentionOpts{KeyPadding: newMask(g, tensor.Float32, 2, 5)}))
		}},
		{Name: "AttentionWeights: nil k", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			q, _, _ := qkv(g)
			return err2(graph.AttentionWeights(q, nil, graph.AttentionOpts{}))
		}},
		{Name: "ApplyWeights: nil weights", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err2(graph.ApplyWeights(nil, v))
		}},
		{Name: "ApplyWeights: nil v", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			return err2(graph.ApplyWeights(f64(g, "w", 2, 1, 3, 5), nil))
		}},
		{Name: "ApplyWeights: 3-D weights", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err2(graph.ApplyWeights(f64(g, "w", 2, 3, 5), v))
		}},
		{Name: "ApplyWeights: weights of other keys", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err2(graph.ApplyWeights(f64(g, "w", 2, 1, 3, 4), v))
		}},
		{Name: "ApplyWeights: weights of another batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err2(graph.ApplyWeights(f64(g, "w", 1, 1, 3, 5), v))
		}},
		{Name: "ApplyWeights: heads not dividing v's width", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, _, v := qkv(g)
			return err2(graph.ApplyWeights(f64(g, "w", 2, 4, 3, 5), v))
		}},
		{Name: "ApplyWeights: 4-D v", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			return err2(graph.ApplyWeights(f64(g, "w", 2, 1, 3, 5), f64(g, "v4", 2, 1, 5, 6)))
		}},
		{Name: "ApplyWeights: float32 v", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error {
			return err2(graph.ApplyWeights(f64(g, "w", 2, 1, 3, 5), f32(g, "v32", 2, 5, 6)))
		}},
	})
}

func TestMaskBadInput(t *testing.T) {
	newMaskErr := func(dt tensor.Dtype, shape tensor.Shape, name string) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error { return err2(graph.NewMask(g, dt, shape, name)) }
	}
	setMaskErr := func(blocked []bool) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error { return graph.SetMask(newMask(g, tensor.Float64, 2, 3), blocked) }
	}
	padErr := func(lengths []int, tk int) func(g *G.ExprGraph) error {
		return func(*G.ExprGraph) error { _, err := graph.KeyPaddingMask(lengths, tk); return err }
	}
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "NewMask: nil graph", Want: graph.ErrArgument, Build: func(*G.ExprGraph) error { return err2(graph.NewMask(nil, tensor.Float64, tensor.Shape{2, 2}, "m")) }},
		{Name: "NewMask: int dtype", Want: graph.ErrDtype, Build: newMaskErr(tensor.Int, tensor.Shape{2, 2}, "m")},
		{Name: "NewMask: bool dtype", Want: graph.ErrDtype, Build: newMaskErr(tensor.Bool, tensor.Shape{2, 2}, "m")},
		{Name: "NewMask: 1-D", Want: graph.ErrShape, Build: newMaskErr(tensor.Float64, tensor.Shape{4}, "m")},
		{Name: "NewMask: 5-D", Want: graph.ErrShape, Build: newMaskErr(tensor.Float64, tensor.Shape{1, 1, 1, 2, 2}, "m")},
		{Name: "NewMask: scalar", Want: graph.ErrShape, Build: newMaskErr(tensor.Float64, tensor.ScalarShape(), "m")},
		{Name: "NewMask: zero size", Want: graph.ErrShape, Build: newMaskErr(tensor.Float64, tensor.Shape{2, 0}, "m")},
		{Name: "NewMask: negative size", Want: graph.ErrShape, Build: newMaskErr(tensor.Float64, tensor.Shape{-2, 3}, "m")},
		{Name: "NewMask: empty name", Want: graph.ErrArgument, Build: newMaskErr(tensor.Float64, tensor.Shape{2, 2}, "")},
		{Name: "SetMask: nil mask", Want: graph.ErrArgument, Build: func(*G.ExprGraph) error { return graph.SetMask(nil, make([]bool, 4)) }},
		{Name: "SetMask: too few values", Want: graph.ErrShape, Build: setMaskErr(make([]bool, 5))},
		{Name: "SetMask: too many values", Want: graph.ErrShape, Build: setMaskErr(make([]bool, 7))},
		{Name: "SetMask: nil values", Want: graph.ErrShape, Build: setMaskErr(nil)},
		{Name: "SetMask: int node", Want: graph.ErrDtype, Build: func(g *G.ExprGraph) error { return graph.SetMask(ints(g, "m", 2, 2), make([]bool, 4)) }},
		{Name: "KeyPaddingMask: negative length", Want: graph.ErrArgument, Build: padErr([]int{2, -1}, 3)},
		{Name: "KeyPaddingMask: length > Tk", Want: graph.ErrArgument, Build: padErr([]int{4, 1}, 3)},
	})
}

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
	graphtest.RunGraph(t, g)
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
