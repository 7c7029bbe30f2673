package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/par"
	"github.com/attend-go/attend/internal/vec"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerNorm normalises x over its last axis (C) and applies a gain and an optional bias:
// y = (x − mean) / √(var + eps) · gain + bias, with the biased variance, as PyTorch's
// nn.LayerNorm. x is (…, C), gain and bias are (C). Forward and backward are fused.
func LayerNorm(x, gain, bias *G.Node, eps float64) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: LayerNorm") }
	if err := checkFloat(x, "x"); err != nil {
		return nil, wrap(err)
	}
	if err := checkFloat(gain, "gain"); err != nil {
		return nil, wrap(err)
	}
	if err := checkSameDtype(x, map[string]*G.Node{"gain": gain, "bias": bias}); err != nil {
		return nil, wrap(err)
	}
	xs := x.Shape()
	c := xs[xs.Dims()-1]
	for _, p := range []*G.Node{gain, bias} {
		if p != nil && !p.Shape().Eq(tensor.Shape{c}) {
			return nil, wrap(errors.Wrapf(ErrShape, "%q is %v; want (%d) for x %v", p.Name(), p.Shape(), c, xs))
		}
	}
	if err := checkEps(eps); err != nil {
		return nil, wrap(err)
	}
	build, err := byDtype(x.Dtype(), layerNormOp[float64], layerNormOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(x, gain, bias, eps)
	return y, wrap(err)
}

// lnState is what the forward op of one LayerNorm leaves for its backward ops: each
// row's mean and rstd (rowStats), as the forward computed and used them. The backward
// ops take the forward's output as an input, so in any run (Program or TapeMachine)
// the forward has run, on the same x, before they read the state.
type lnState struct {
	mean, rstd []float64
}

// rows returns the state sized for rows rows (grown when needed: a node's shape fixes
// it, so only the first run allocates).
func (s *lnState) rows(rows int) (mean, rstd []float64) {
	if len(s.mean) < rows {
		s.mean, s.rstd = make([]float64, rows), make([]float64, rows)
	}
	return s.mean[:rows], s.rstd[:rows]
}

func layerNormOp[T num.Float](x, gain, bias *G.Node, eps float64) (*G.Node, error) {
	xs := x.Shape()
	c := xs[xs.Dims()-1]
	o, inputs := paramOp(fmt.Sprintf("attend.LayerNorm{eps:%v, bias:%v}", eps, bias != nil), xs.Clone(),
		G.Nodes{x, gain}, []int{xs.Dims(), 1}, bias)
	st := &lnState{}
	if c > 0 {
		st.rows(xs.TotalSize() / c)
	}
	kernel(o, func(in []*tensor.Dense, y []T) error {
		x := data[T](in[0])
		mean, rstd := st.rows(len(x) / c)
		layerNormForward(y, x, data[T](in[1]), optData[T](in, 2), c, eps, mean, rstd)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		// out is an input of both for the order only: the forward leaves st.
		dx, err := rowOp("attend.LayerNormGradX", G.Nodes{in[0], in[1], grad, out}, xs, func(v []*tensor.Dense, dx []T) {
			x := data[T](v[0])
			mean, rstd := st.rows(len(x) / c)
			layerNormGradX(dx, x, data[T](v[1]), data[T](v[2]), c, mean, rstd)
		}, eps)
		if err != nil {
			return nil, err
		}
		acc := make([]float64, c) // float64 column sums, kept from run to run
		dg, err := rowOp("attend.LayerNormGradGain", G.Nodes{in[0], grad, out}, tensor.Shape{c}, func(v []*tensor.Dense, dg []T) {
			x := data[T](v[0])
			mean, rstd := st.rows(len(x) / c)
			layerNormGradGain(dg, x, data[T](v[1]), c, mean, rstd, acc)
		}, eps)
		if err != nil {
			return nil, err
		}
		return withBiasGrad(G.Nodes{dx, dg}, len(in) == 3, grad)
	}
	return G.ApplyOp(o, inputs...)
}

// kernel makes fill the body of o, built for element type T: each run hands fill the
// op's inputs and its output buffer (o.result), which fill overwrites.
func kernel[T num.Float](o *op, fill func(in []*tensor.Dense, out []T) error) {
	o.elem = dtypeOf[T]()
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(o.elem)
		return out, fill(vals, data[T](out))
	}
}

// denses returns the op's inputs as tensors, in a slice the op reuses from run to run.
func (o *op) denses(in []G.Value) ([]*tensor.Dense, error) {
	if len(o.ins) != len(in) {
		o.ins = make([]*tensor.Dense, len(in))
	}
	vals := o.ins
	for i := range in {
		var err error
		if vals[i], err = dense(in[i]); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

func optData[T num.Float](vals []*tensor.Dense, i int) []T {
	if i < len(vals) && vals[i] != nil {
		return data[T](vals[i])
	}
	return nil
}

// rowOp builds a non-differentiable op of element type T whose output has the given
// shape, computed by fill into the op's output buffer. Its float inputs share T; int
// inputs (ids, targets) keep their dtype. extra goes into the op's hash.
func rowOp[T num.Float](name string, inputs G.Nodes, shape tensor.Shape, fill func(in []*tensor.Dense, out []T), extra ...any) (*G.Node, error) {
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+1)
	for _, n := range inputs {
		var of hm.Type = a
		if n.Dtype() == tensor.Int {
			of = tensor.Int
		}
		types = append(types, tensorType(n.Dims(), of))
	}
	o := &op{
		name:  fmt.Sprintf("%s%v", name, extra),
		arity: len(inputs),
		typ:   hm.NewFnType(append(types, tensorType(shape.Dims(), a))...),
		shape: shape.Clone(),
	}
	kernel(o, func(in []*tensor.Dense, out []T) error {
		fill(in, out)
		return nil
	})
	return G.ApplyOp(o, inputs...)
}

// build1 is the public function what (as "SiLU") of one float node x: it checks x
// and builds the op for x's dtype, by f64 or f32.
func build1(what string, x *G.Node, f64, f32 func(x *G.Node) (*G.Node, error)) (*G.Node, error) {
	if err := checkFloat(x, "x"); err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	build, err := byDtype(x.Dtype(), f64, f32)
	if err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	return build(x)
}

// checkEps is nil for an eps that is finite and > 0, else an ErrArgument naming it.
func checkEps(eps float64) error {
	if !(eps > 0) || math.IsInf(eps, 0) {
		return errors.Wrapf(ErrArgument, "eps = %v; want finite and > 0", eps)
	}
	return nil
}

// paramOp is the op name, differentiable in every input, of the float nodes inputs,
// each of its rank in ranks, then opt (rank 1) when it is not nil, giving a node of
// shape shape: the fused layers (Dense, LayerNorm, RMSNorm) whose bias or gain is
// optional, and the elementwise ops. It returns the op, its kernel and diff still to
// set, and the nodes to apply it to.
func paramOp(name string, shape tensor.Shape, inputs G.Nodes, ranks []int, opt *G.Node) (*op, G.Nodes) {
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+2)
	for _, r := range ranks {
		types = append(types, tensorType(r, a))
	}
	inputs = append(G.Nodes(nil), inputs...)
	if opt != nil {
		inputs = append(inputs, opt)
		types = append(types, tensorType(1, a))
	}
	diff := make([]bool, len(inputs))
	for i := range diff {
		diff[i] = true
	}
	return &op{
		name:    name,
		arity:   len(inputs),
		typ:     hm.NewFnType(append(types, tensorType(shape.Dims(), a))...),
		shape:   shape,
		diffWRT: diff,
	}, inputs
}

// rowStats returns the mean and 1/√(var + eps) of one row.
func rowStats[T num.Float](x []T, eps float64) (mean, rstd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var vr float64
	for _, v := range x {
		d := float64(v) - mean
		vr += d * d
	}
	vr /= float64(len(x))
	return mean, 1 / math.Sqrt(vr+eps)
}

// layerNormForward writes y = LayerNorm(x) and leaves each row's mean and rstd in mean
// and rstd (len(x)/c of them).
func layerNormForward[T num.Float](y, x, g, b []T, c int, eps float64, mean, rstd []float64) {
	if y, ok := any(y).([]float32); ok {
		layerNormForward32(y, any(x).([]float32), any(g).([]float32), any(b).([]float32), c, eps, mean, rstd)
		return
	}
	parallelDo(len(x)/c, len(x)*8, layerNormRows[T]{y, x, g, b, mean, rstd, c, eps})
}

// layerNormRows is layerNormForward's loop body (a value, so that the loop
// allocates nothing): y = (x - mean) · rstd · g + b for row r of c columns.
type layerNormRows[T num.Float] struct {
	y, x, g, b []T
	mean, rstd []float64
	c          int
	eps        float64
}

func (l layerNormRows[T]) Do(r int) {
	row, out := l.x[r*l.c:(r+1)*l.c], l.y[r*l.c:(r+1)*l.c]
	mean, rstd := rowStats(row, l.eps)
	l.mean[r], l.rstd[r] = mean, rstd
	for j, v := range row {
		o := (float64(v) - mean) * rstd * float64(l.g[j])
		if l.b != nil {
			o += float64(l.b[j])
		}
		out[j] = T(o)
	}
}

// layerNormGradX: dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)), dŷ = dy ⊙ gain, with
// the rows' mean and rstd that the forward left.
func layerNormGradX[T num.Float](dx, x, g, dy []T, c int, mean, rstd []float64) {
	if dx, ok := any(dx).([]float32); ok {
		layerNormGradX32(dx, any(x).([]float32), any(g).([]float32), any(dy).([]float32), c, mean, rstd)
		return
	}
	parallelDo(len(x)/c, len(x)*12, layerNormGradRows[T]{dx, x, g, dy, mean, rstd, c})
}

// layerNormGradRows is layerNormGradX's loop body: row r.
type layerNormGradRows[T num.Float] struct {
	dx, x, g, dy []T
	mean, rstd   []float64
	c            int
}

func (l layerNormGradRows[T]) Do(r int) {
	c := l.c
	row, d, out := l.x[r*c:(r+1)*c], l.dy[r*c:(r+1)*c], l.dx[r*c:(r+1)*c]
	mean, rstd := l.mean[r], l.rstd[r]
	var m1, m2 float64
	for j, v := range row {
		dh := float64(d[j]) * float64(l.g[j])
		m1 += dh
		m2 += dh * (float64(v) - mean) * rstd
	}
	m1 /= float64(c)
	m2 /= float64(c)
	for j, v := range row {
		xh := (float64(v) - mean) * rstd
		out[j] = T(rstd * (float64(d[j])*float64(l.g[j]) - m1 - xh*m2))
	}
}

// gainStrips splits the c columns of a LayerNorm gain gradient of the given work into
// strips: one of every column when the loop stays on one core (each row read in one
// piece, in order), else one per core (par.Threads), multiples of 8 columns wide.
func gainStrips(c, work int) (strips, cols int) {
	n := min(par.Threads(), (c+7)/8)
	if n < 2 || !parallelWorth(work) {
		return 1, max(c, 1)
	}
	cols = ((c+n-1)/n + 7) &^ 7
	return (c + cols - 1) / cols, cols
}

// layerNormGradGain: dgain = Σ_rows dy ⊙ x̂, with the rows' mean and rstd that the
// forward left, summed in float64 into acc (c elements). The columns are split into
// strips (gainStrips) run over the cores; each column's sum runs over the rows in
// order, so the split changes nothing. float32 strips are internal/vec's kernel, each
// strip of every row in one call: cheap (≈ 0.3 ns an element on one core), so their
// work estimate is a quarter of an op an element — at nanogpt-cpu's 768 × 128 the loop
// stays on the caller, where two cores measured slower (38 µs against 33 µs serially,
// AVX2, warm caches), and from about twice that size it is split (768 × 512: 140 µs
// against 220 µs).
func layerNormGradGain[T num.Float](dg, x, dy []T, c int, mean, rstd, acc []float64) {
	work := len(x) * 4
	if _, ok := any(x).([]float32); ok {
		work = len(x) / 4
	}
	n, cols := gainStrips(c, work)
	parallelDo(n, work, layerNormGainCols[T]{dg, x, dy, mean, rstd, acc, c, cols})
}

// layerNormGainCols is layerNormGradGain's loop body: columns [p·cols, (p+1)·cols).
type layerNormGainCols[T num.Float] struct {
	dg, x, dy  []T
	mean, rstd []float64
	acc        []float64
	c, cols    int
}

func (l layerNormGainCols[T]) Do(p int) {
	c := l.c
	lo, hi := p*l.cols, min((p+1)*l.cols, c)
	acc := l.acc[lo:hi]
	clear(acc)
	if x, ok := any(l.x).([]float32); ok {
		vec.LayerNormGradGainF32(acc, x, any(l.dy).([]float32), c, lo, l.mean, l.rstd)
	} else {
		for r := range len(l.x) / c {
			row, d := l.x[r*c+lo:r*c+hi], l.dy[r*c+lo:r*c+hi]
			mean, rstd := l.mean[r], l.rstd[r]
			for j, v := range row {
				acc[j] += float64(d[j]) * (float64(v) - mean) * rstd
			}
		}
	}
	for j := lo; j < hi; j++ {
		l.dg[j] = T(l.acc[j])
	}
}

// RMSNorm normalises x over its last axis (C) by its root mean square and applies an
// optional gain: y = x / √(mean(x²) + eps) · gain, as Llama's RMSNorm
// (x · rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) · weight) and PyTorch's
// F.rms_norm. x is (…, C) with C ≥ 1; gain is (C), or nil for the parameter-free norm
// nanochat uses. eps must be finite and > 0. Forward and backward are fused; rows are
// reduced in float64 whatever the element type. A row holding NaN gives NaN, as in
// PyTorch.
func RMSNorm(x, gain *G.Node, eps float64) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: RMSNorm") }
	if err := checkFloat(x, "x"); err != nil {
		return nil, wrap(err)
	}
	if err := checkSameDtype(x, map[string]*G.Node{"gain": gain}); err != nil {
		return nil, wrap(err)
	}
	xs := x.Shape()
	if xs.Dims() < 1 || xs[xs.Dims()-1] < 1 {
		return nil, wrap(errors.Wrapf(ErrShape, "x %q is %v; want (…, C) with C ≥ 1", x.Name(), xs))
	}
	c := xs[xs.Dims()-1]
	if gain != nil && (gain.Dims() != 1 || gain.Shape()[0] != c) { // Shape.Eq takes (1, C) for (C)
		return nil, wrap(errors.Wrapf(ErrShape, "gain %q is %v; want (%d) for x %v", gain.Name(), gain.Shape(), c, xs))
	}
	if err := checkEps(eps); err != nil {
		return nil, wrap(err)
	}
	build, err := byDtype(x.Dtype(), rmsNormOp[float64], rmsNormOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(x, gain, eps)
	return y, wrap(err)
}

func rmsNormOp[T num.Float](x, gain *G.Node, eps float64) (*G.Node, error) {
	xs := x.Shape()
	c := xs[xs.Dims()-1]
	o, inputs := paramOp(fmt.Sprintf("attend.RMSNorm{eps:%v, gain:%v}", eps, gain != nil), xs.Clone(),
		G.Nodes{x}, []int{xs.Dims()}, gain)
	kernel(o, func(in []*tensor.Dense, y []T) error {
		rmsNormForward(y, data[T](in[0]), optData[T](in, 1), c, eps)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		// The gradient op's inputs: x, dy, then the gain when there is one.
		dxIn := G.Nodes{in[0], grad}
		if len(in) == 2 {
			dxIn = append(dxIn, in[1])
		}
		dx, err := rowOp("attend.RMSNormGradX", dxIn, xs, func(v []*tensor.Dense, dx []T) {
			rmsNormGradX(dx, data[T](v[0]), data[T](v[1]), optData[T](v, 2), c, eps)
		}, eps, len(in) == 2)
		if err != nil || len(in) == 1 {
			return G.Nodes{dx}, err
		}
		acc := make([]float64, c) // float64 column sums, kept from run to run
		dg, err := rowOp("attend.RMSNormGradGain", G.Nodes{in[0], grad}, tensor.Shape{c}, func(v []*tensor.Dense, dg []T) {
			rmsNormGradGain(dg, data[T](v[0]), data[T](v[1]), c, eps, acc)
		}, eps)
		if err != nil {
			return nil, err
		}
		return G.Nodes{dx, dg}, nil
	}
	return G.ApplyOp(o, inputs...)
}

// rmsOf returns 1/√(mean(x²) + eps) of one row, summed in float64.
func rmsOf[T num.Float](x []T, eps float64) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	return 1 / math.Sqrt(ss/float64(len(x))+eps)
}

func rmsNormForward[T num.Float](y, x, g []T, c int, eps float64) {
	parallelDo(len(x)/c, len(x)*6, rmsNormRows[T]{y, x, g, c, eps})
}

// rmsNormRows is rmsNormForward's loop body (a value, so that the loop
// allocates nothing): y = x · r · g for row i of c columns, r = 1/rms.
type rmsNormRows[T num.Float] struct {
	y, x, g []T
	c       int
	eps     float64
}

func (l rmsNormRows[T]) Do(i int) {
	row, out := l.x[i*l.c:(i+1)*l.c], l.y[i*l.c:(i+1)*l.c]
	r := rmsOf(row, l.eps)
	if l.g == nil {
		for j, v := range row {
			out[j] = T(float64(v) * r)
		}
		return
	}
	for j, v := range row {
		out[j] = T(float64(v) * r * float64(l.g[j]))
	}
}

// rmsNormGradX: dx = r · (dŷ − x̂ · mean(dŷ ⊙ x̂)), r = 1/rms, x̂ = x · r, dŷ = dy ⊙
// gain (dy without a gain).
func rmsNormGradX[T num.Float](dx, x, dy, g []T, c int, eps float64) {
	parallelFor(len(x)/c, len(x)*10, func(i int) {
		row, d, out := x[i*c:(i+1)*c], dy[i*c:(i+1)*c], dx[i*c:(i+1)*c]
		r := rmsOf(row, eps)
		var m float64
		for j, v := range row {
			dh := float64(d[j])
			if g != nil {
				dh *= float64(g[j])
			}
			m += dh * float64(v)
		}
		m *= r * r / float64(c) // r² · mean(dŷ ⊙ x), so that x̂ · mean(dŷ ⊙ x̂) = x · m
		for j, v := range row {
			dh := float64(d[j])
			if g != nil {
				dh *= float64(g[j])
			}
			out[j] = T(r * (dh - float64(v)*m))
		}
	})
}

// rmsNormGradGain: dgain = Σ_rows dy ⊙ x̂.
func rmsNormGradGain[T num.Float](dg, x, dy []T, c int, eps float64, acc []float64) {
	clear(acc)
	for i := 0; i < len(x)/c; i++ {
		row, d := x[i*c:(i+1)*c], dy[i*c:(i+1)*c]
		r := rmsOf(row, eps)
		for j, v := range row {
			acc[j] += float64(d[j]) * float64(v) * r
		}
	}
	for j := range dg {
		dg[j] = T(acc[j])
	}
}

// SumRows sums x (…, C) over every axis but the last, giving (C): the gradient of a bias
// broadcast over rows.
func SumRows(x *G.Node) (*G.Node, error) {
	return build1("SumRows", x, sumRowsOp[float64], sumRowsOp[float32])
}

func sumRowsOp[T num.Float](x *G.Node) (*G.Node, error) {
	xs := x.Shape()
	c := xs[xs.Dims()-1]
	acc := make([]float64, c) // float64 column sums, kept from run to run
	return rowOp("attend.SumRows", G.Nodes{x}, tensor.Shape{c}, func(in []*tensor.Dense, out []T) {
		sumRows(out, data[T](in[0]), c, acc)
	})
}

// sumRows writes the column sums of x (rows of c) into dst, accumulating in acc (len c),
// in row order: for float32 in internal/vec's kernel, which keeps the columns in float64
// lanes and gives the same bits.
func sumRows[T num.Float](dst, x []T, c int, acc []float64) {
	if d, ok := any(dst).([]float32); ok {
		vec.SumRowsF32(d, any(x).([]float32), c, acc)
		return
	}
	clear(acc)
	for r := 0; r < len(x)/c; r++ {
		for j, v := range x[r*c : (r+1)*c] {
			acc[j] += float64(v)
		}
	}
	for j := range dst {
		dst[j] = T(acc[j])
	}
}

// GELU is the Gaussian error linear unit x·Φ(x) with the exact erf, as PyTorch's
// nn.GELU() and nanoGPT use.
func GELU(x *G.Node) (*G.Node, error) {
	return build1("GELU", x, geluOp(geluForward64, geluBackward64), geluOp(geluForward32, geluBackward32))
}

// geluOp returns the builder of GELU's op for element type T with its two kernels: the
// backward one reads the forward output y too (in float32 it recovers Φ(x) as y/x
// instead of a second erf).
func geluOp[T num.Float](forward func(y, x []T), backward func(dx, x, y, dy []T)) func(x *G.Node) (*G.Node, error) {
	return func(x *G.Node) (*G.Node, error) {
		xs := x.Shape()
		a := hm.TypeVariable('a')
		o := &op{
			name:    "attend.GELU",
			arity:   1,
			typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(xs.Dims(), a)),
			shape:   xs.Clone(),
			diffWRT: []bool{true},
		}
		kernel(o, func(in []*tensor.Dense, y []T) error {
			forward(y, data[T](in[0]))
			return nil
		})
		o.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
			dx, err := rowOp("attend.GELUGrad", G.Nodes{in[0], y, grad}, xs, func(v []*tensor.Dense, dx []T) {
				backward(dx, data[T](v[0]), data[T](v[1]), data[T](v[2]))
			})
			return G.Nodes{dx}, err
		}
		return G.ApplyOp(o, x)
	}
}

func geluForward64(y, x []float64) {
	const chunk = 4096
	parallelFor((len(x)+chunk-1)/chunk, len(x)*20, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(x)); i++ {
			v := x[i]
			y[i] = 0.5 * v * (1 + math.Erf(v*math.Sqrt2/2))
		}
	})
}

// geluBackward64 writes dx = dy·(Φ(x) + x·φ(x)); it does not need the forward output.
func geluBackward64(dx, x, _, dy []float64) {
	const chunk = 4096
	parallelFor((len(x)+chunk-1)/chunk, len(x)*30, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(x)); i++ {
			v := x[i]
			cdf := 0.5 * (1 + math.Erf(v*math.Sqrt2/2))
			pdf := math.Exp(-0.5*v*v) * (1 / math.Sqrt(2*math.Pi))
			dx[i] = dy[i] * (cdf + v*pdf)
		}
	})
}

// Embed looks up rows of table (V, C) by integer ids, (N) or (B, T), giving (N, C) or
// (B, T, C). Its gradient scatter-adds into the table (repeated ids add up). An id
// outside [0, V) is an error when the graph runs.
func Embed(table, ids *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Embed") }
	if err := checkFloat(table, "table"); err != nil {
		return nil, wrap(err)
	}
	if ids == nil || ids.Dtype() != tensor.Int {
		return nil, wrap(errors.Wrapf(ErrDtype, "ids must be an int node, got %v", ids))
	}
	ts, is := table.Shape(), ids.Shape()
	if ts.Dims() != 2 || (is.Dims() != 1 && is.Dims() != 2) {
		return nil, wrap(errors.Wrapf(ErrShape, "table %v and ids %v; want (V, C) and (N) or (B, T)", ts, is))
	}
	y, err := build2(table.Dtype(), embedOp[float64], embedOp[float32], table, ids)
	return y, wrap(err)
}

func embedOp[T num.Float](table, ids *G.Node) (*G.Node, error) {
	ts, is := table.Shape(), ids.Shape()
	v, c := ts[0], ts[1]
	outShape := append(is.Clone(), c)
	a := hm.TypeVariable('a')
	o := &op{
		name:    "attend.Embed",
		arity:   2,
		typ:     hm.NewFnType(tensorType(2, a), tensorType(is.Dims(), tensor.Int), tensorType(outShape.Dims(), a)),
		shape:   outShape,
		diffWRT: []bool{true, false},
	}
	kernel(o, func(in []*tensor.Dense, out []T) error {
		return embedForward(out, data[T](in[0]), ints(in[1]), v, c)
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		dt, err := rowOp("attend.EmbedGrad", G.Nodes{in[1], grad}, ts, func(in []*tensor.Dense, dt []T) {
			clear(dt) // the gradient is scatter-added
			embedBackward(dt, data[T](in[1]), ints(in[0]), c)
		}, ts)
		return G.Nodes{dt, nil}, err
	}
	return G.ApplyOp(o, table, ids)
}

func embedForward[T num.Float](out, table []T, ids []int, v, c int) error {
	for i, id := range ids {
		if id < 0 || id >= v {
			return errors.Wrapf(attend.ErrData, "id %d at position %d is outside the table of %d rows", id, i, v)
		}
		copy(out[i*c:(i+1)*c], table[id*c:(id+1)*c])
	}
	return nil
}

func embedBackward[T num.Float](dt, g []T, ids []int, c int) {
	for i, id := range ids {
		row, d := dt[id*c:(id+1)*c], g[i*c:(i+1)*c]
		for j := range row {
			row[j] += d[j]
		}
	}
}

// AddPositions returns x + pos[t] for every batch row, x (B, T, C) or (T, C), pos (P, C)
// with P ≥ T: a learned position embedding added to token embeddings.
func AddPositions(x, pos *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: AddPositions") }
	if err := checkPair(x, "x", pos, "pos"); err != nil {
		return nil, wrap(err)
	}
	if err := checkPositions(x, pos); err != nil {
		return nil, wrap(err)
	}
	y, err := build2(x.Dtype(), addPositionsOp[float64], addPositionsOp[float32], x, pos)
	return y, wrap(err)
}

// checkPositions is nil when the shapes of x, (B, T, C) or (T, C), and pos, (P, C)
// with P ≥ T, let pos's rows be added to x's positions (AddPositions, AddPositionsAt).
func checkPositions(x, pos *G.Node) error {
	xs, ps := x.Shape(), pos.Shape()
	if (xs.Dims() != 2 && xs.Dims() != 3) || ps.Dims() != 2 {
		return errors.Wrapf(ErrShape, "x %v and pos %v; want (B, T, C) or (T, C) and (P, C)", xs, ps)
	}
	_, t, c := seqDims(xs)
	if ps[1] != c || ps[0] < t {
		return errors.Wrapf(ErrShape, "pos %v cannot cover x %v: want (P ≥ %d, %d)", ps, xs, t, c)
	}
	return nil
}

func addPositionsOp[T num.Float](x, pos *G.Node) (*G.Node, error) {
	xs, ps := x.Shape(), pos.Shape()
	_, t, c := seqDims(xs)
	a := hm.TypeVariable('a')
	o := &op{
		name:    "attend.AddPositions",
		arity:   2,
		typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(2, a), tensorType(xs.Dims(), a)),
		shape:   xs.Clone(),
		diffWRT: []bool{true, true},
	}
	kernel(o, func(in []*tensor.Dense, out []T) error {
		addPositions(out, data[T](in[0]), data[T](in[1]), t*c)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		acc := make([]float64, t*c)
		dp, err := rowOp("attend.AddPositionsGrad", G.Nodes{grad}, ps, func(in []*tensor.Dense, dp []T) {
			clear(dp) // rows ≥ T get no gradient
			sumRows(dp[:t*c], data[T](in[0]), t*c, acc)
		}, ps)
		return G.Nodes{grad, dp}, err
	}
	return G.ApplyOp(o, x, pos)
}

// addPositions sets out = x + pos for each batch row of tc elements of x (the vector
// add, row by row).
func addPositions[T num.Float](out, x, pos []T, tc int) {
	for lo := 0; lo+tc <= len(x); lo += tc {
		addInto(out[lo:lo+tc], x[lo:lo+tc], pos[:tc])
	}
}

// DropoutMode switches the Dropout ops that share it between training (on) and
// evaluation (off, the identity), and tells them the training step, from which each
// draws its mask. The zero value is off at step 0.
type DropoutMode struct {
	on   atomic.Bool
	step atomic.Uint64
}

// SetTraining turns dropout on (true) or off.
func (m *DropoutMode) SetTraining(on bool) { m.on.Store(on) }

// Training reports whether dropout is on.
func (m *DropoutMode) Training() bool { return m.on.Load() }

// SetStep sets the step whose masks the next runs draw.
func (m *DropoutMode) SetStep(step uint64) { m.step.Store(step) }

// Dropout zeroes each element of x with probability p while mode is training and scales
// the others by 1/(1−p); its gradient uses the same mask and the same 1/(1−p) (Gorgonia's
// own Dropout divides by p in its backward pass). The mask of a run is drawn from a PCG
// stream seeded with (seed, mode's step): it depends on nothing else, so runs repeat and
// a resumed training run draws the masks the uninterrupted one did. Give each Dropout in
// a model its own seed.
func Dropout(x *G.Node, p float64, seed uint64, mode *DropoutMode) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Dropout") }
	if err := checkFloat(x, "x"); err != nil {
		return nil, wrap(err)
	}
	if !(p >= 0 && p < 1) || mode == nil {
		return nil, wrap(errors.Wrapf(ErrArgument, "p = %v (want [0, 1)) and mode %v (want non-nil)", p, mode))
	}
	build, err := byDtype(x.Dtype(), dropoutOp[float64], dropoutOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(x, p, seed, mode)
	return y, wrap(err)
}

func dropoutOp[T num.Float](x *G.Node, p float64, seed uint64, mode *DropoutMode) (*G.Node, error) {
	xs := x.Shape()
	a := hm.TypeVariable('a')
	var pcg rand.PCG
	rng := rand.New(&pcg)
	var keep []bool // the mask of the last forward run, read by the backward op
	scale := 1 / (1 - p)
	o := &op{
		name:    fmt.Sprintf("attend.Dropout{p:%v, seed:%d}", p, seed),
		arity:   1,
		typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(xs.Dims(), a)),
		shape:   xs.Clone(),
		diffWRT: []bool{true},
	}
	kernel(o, func(in []*tensor.Dense, out []T) error {
		if !mode.Training() || p == 0 {
			keep = nil
		} else {
			if len(keep) != xs.TotalSize() {
				keep = make([]bool, xs.TotalSize())
			}
			pcg.Seed(seed, mode.step.Load())
			for i := range keep {
				keep[i] = rng.Float64() >= p
			}
		}
		dropoutApply(out, data[T](in[0]), keep, scale)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		dx, err := rowOp("attend.DropoutGrad", G.Nodes{grad}, xs, func(in []*tensor.Dense, dx []T) {
			dropoutApply(dx, data[T](in[0]), keep, scale)
		}, seed)
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(o, x)
}

func dropoutApply[T num.Float](out, in []T, keep []bool, scale float64) {
	if keep == nil {
		copy(out, in)
		return
	}
	for i, k := range keep {
		if k {
			out[i] = T(float64(in[i]) * scale)
		} else {
			out[i] = 0
		}
	}
}

// CrossEntropy returns the mean cross-entropy of logits against integer class targets,
// fused and stable (log-sum-exp with the row maximum subtracted), like PyTorch's
// F.cross_entropy with ignore_index = -1.
//
// logits is (N, V) or (B, T, V); targets is an input node of dtype tensor.Int with the
// shape of logits minus its last axis. A negative target marks a position that is not
// scored: it adds nothing to the loss and gets zero gradient, and the mean is over the
// scored positions only (0, with zero gradient, when none is scored). A target ≥ V is
// an error when the graph runs. For float32 logits the exponentials are float32 ones
// (internal/vec's, as the float32 softmax's) summed in float64: each row's log-sum-exp
// is within 1e-7 absolute of the float64 formula's.
func CrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: CrossEntropy") }
	if err := checkFloat(logits, "logits"); err != nil {
		return nil, wrap(err)
	}
	if targets == nil {
		return nil, wrap(errors.Wrap(ErrArgument, "targets is nil"))
	}
	if targets.Dtype() != tensor.Int {
		return nil, wrap(errors.Wrapf(ErrDtype, "targets %q have dtype %v; want int", targets.Name(), targets.Dtype()))
	}
	ls, ts := logits.Shape(), targets.Shape()
	if (ls.Dims() != 2 && ls.Dims() != 3) || !ts.Eq(ls[:ls.Dims()-1]) {
		return nil, wrap(errors.Wrapf(ErrShape, "logits %q are %v and targets %q are %v; want (N, V) with (N) or (B, T, V) with (B, T)",
			logits.Name(), ls, targets.Name(), ts))
	}
	loss, err := build2(logits.Dtype(), crossEntropyOp[float64], crossEntropyOp[float32], logits, targets)
	return loss, wrap(err)
}

func crossEntropyOp[T num.Float](logits, targets *G.Node) (*G.Node, error) {
	ls, ts := logits.Shape(), targets.Shape()
	v := ls[ls.Dims()-1]
	a := hm.TypeVariable('a')
	o := &op{
		name:    "attend.CrossEntropy",
		arity:   2,
		typ:     hm.NewFnType(tensorType(ls.Dims(), a), tensorType(ts.Dims(), tensor.Int), a),
		shape:   tensor.ScalarShape(),
		diffWRT: []bool{true, false},
		elem:    dtypeOf[T](),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		loss, err := crossEntropy(data[T](vals[0]), ints(vals[1]), v)
		return scalarOf[T](loss), err
	}
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		g, err := crossEntropyGrad[T](in[0], in[1], grad)
		return G.Nodes{g, nil}, err
	}
	return G.ApplyOp(o, logits, targets)
}

func crossEntropy[T num.Float](logits []T, targets []int, v int) (float64, error) {
	var sum float64
	n := 0
	for r, t := range targets {
		if t < 0 {
			continue
		}
		if t >= v {
			return 0, errors.Wrapf(ErrArgument, "target %d at position %d is outside the vocabulary of %d", t, r, v)
		}
		row := logits[r*v : (r+1)*v]
		sum += logSumExp(row) - float64(row[t])
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return sum / float64(n), nil
}

// logSumExp is log Σ exp(row[j]) in float64: for float32 from internal/vec's float32
// exponentials (within 1e-7 absolute of math.Exp's result), otherwise from math.Exp.
func logSumExp[T num.Float](row []T) float64 {
	if r, ok := any(row).([]float32); ok {
		return vec.LogSumExpF32(r)
	}
	mx := math.Inf(-1)
	for _, x := range row {
		mx = math.Max(mx, float64(x))
	}
	if math.IsInf(mx, 0) {
		return mx
	}
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - mx)
	}
	return mx + math.Log(s)
}

// crossEntropyGrad builds ∂loss/∂logits = g · (softmax(logits) − onehot(target)) / n on
// scored rows, 0 elsewhere.
func crossEntropyGrad[T num.Float](logits, targets, grad *G.Node) (*G.Node, error) {
	ls := logits.Shape()
	v := ls[ls.Dims()-1]
	a := hm.TypeVariable('a')
	o := &op{
		name:  "attend.CrossEntropyGrad",
		arity: 3,
		typ:   hm.NewFnType(tensorType(ls.Dims(), a), tensorType(ls.Dims()-1, tensor.Int), a, tensorType(ls.Dims(), a)),
		shape: ls.Clone(),
		elem:  dtypeOf[T](),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		lv, err := dense(in[0])
		if err != nil {
			return nil, err
		}
		tv, err := dense(in[1])
		if err != nil {
			return nil, err
		}
		g, err := scalar(in[2])
		if err != nil {
			return nil, err
		}
		out := o.result(o.elem)
		dx := data[T](out)
		clear(dx) // unscored rows get no gradient
		return out, crossEntropyBackward(dx, data[T](lv), ints(tv), v, g)
	}
	return G.ApplyOp(o, logits, targets, grad)
}

func crossEntropyBackward[T num.Float](dx, logits []T, targets []int, v int, g float64) error {
	n := 0
	for r, t := range targets {
		if t >= v {
			return errors.Wrapf(ErrArgument, "target %d at position %d is outside the vocabulary of %d", t, r, v)
		}
		if t >= 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	scale := g / float64(n)
	parallelFor(len(targets), len(logits)*8, func(r int) {
		t := targets[r]
		if t < 0 {
			return
		}
		row, d := logits[r*v:(r+1)*v], dx[r*v:(r+1)*v]
		if d32, ok := any(d).([]float32); ok {
			vec.SoftmaxScaleF32(d32, any(row).([]float32), v, scale) // the two roundings below, in one pass
		} else {
			softmaxRow(d, row, rowMask[T]{limit: v})
			for j := range d {
				d[j] = T(float64(d[j]) * scale)
			}
		}
		d[t] -= T(scale)
	})
	return nil
}

// Dense returns x·W + b, fused, for x of shape (N, in) or (B, T, in): W is (in, out), or
// (out, in) with transW (y = x·Wᵀ, as for an output head tied to an embedding table), and
// b is (out) or nil. The result keeps x's leading dims: (N, out) or (B, T, out). Its
// backward pass is two matrix products and a column sum; no reshape or transpose is
// copied.
func Dense(x, w, b *G.Node, transW bool) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Dense") }
	for what, n := range map[string]*G.Node{"x": x, "w": w} {
		if err := checkFloat(n, what); err != nil {
			return nil, wrap(err)
		}
	}
	if err := checkSameDtype(x, map[string]*G.Node{"w": w, "b": b}); err != nil {
		return nil, wrap(err)
	}
	xs, ws := x.Shape(), w.Shape()
	if (xs.Dims() != 2 && xs.Dims() != 3) || ws.Dims() != 2 {
		return nil, wrap(errors.Wrapf(ErrShape, "x %q is %v and w %q is %v; want (N, in) or (B, T, in) and a matrix", x.Name(), xs, w.Name(), ws))
	}
	in, out := ws[0], ws[1]
	if transW {
		in, out = out, in
	}
	if xs[xs.Dims()-1] != in {
		return nil, wrap(errors.Wrapf(ErrShape, "x %q is %v but w %q (%v, transposed: %v) takes %d inputs", x.Name(), xs, w.Name(), ws, transW, in))
	}
	if b != nil && !b.Shape().Eq(tensor.Shape{out}) {
		return nil, wrap(errors.Wrapf(ErrShape, "bias %q is %v; want (%d)", b.Name(), b.Shape(), out))
	}
	build, err := byDtype(x.Dtype(), denseOp[float64], denseOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(x, w, b, transW)
	return y, wrap(err)
}

func denseOp[T num.Float](x, w, b *G.Node, transW bool) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	in, out := ws[0], ws[1]
	if transW {
		in, out = out, in
	}
	n := xs.TotalSize() / in
	outShape := append(xs[:xs.Dims()-1].Clone(), out)
	o, inputs := paramOp(fmt.Sprintf("attend.Dense{transW:%v, bias:%v}", transW, b != nil), outShape,
		G.Nodes{x, w}, []int{xs.Dims(), 2}, b)
	kernel(o, func(vals []*tensor.Dense, y []T) error {
		denseForward(y, data[T](vals[0]), data[T](vals[1]), optData[T](vals, 2), n, in, out, transW)
		return nil
	})
	o.diff = func(ins G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		// dx = dy·W (transW) or dy·Wᵀ: (N, out) × (out, in) → (N, in)
		dx, err := matMul[T]("attend.DenseGradX", grad, ins[1], false, !transW, n, in, out, xs)
		if err != nil {
			return nil, err
		}
		// dW = dyᵀ·x (transW, (out, in)) or xᵀ·dy ((in, out)): a sum over the N rows
		var dw *G.Node
		if transW {
			dw, err = matMul[T]("attend.DenseGradW", grad, ins[0], true, false, out, in, n, ws)
		} else {
			dw, err = matMul[T]("attend.DenseGradW", ins[0], grad, true, false, in, out, n, ws)
		}
		if err != nil {
			return nil, err
		}
		return withBiasGrad(G.Nodes{dx, dw}, len(ins) == 3, grad)
	}
	return G.ApplyOp(o, inputs...)
}

func denseForward[T num.Float](y, x, w, b []T, n, in, out int, transW bool) {
	ldw := out
	if transW {
		ldw = in
	}
	var beta T
	if b != nil {
		for r := 0; r < n; r++ {
			copy(y[r*out:(r+1)*out], b)
		}
		beta = 1
	}
	gemm(false, transW, n, out, in, 1, x, in, w, ldw, beta, y, out) // (N, in) × (in, out) → (N, out)
}

// matMul builds the non-differentiable node op(A)·op(B), with A and B read as row-major
// matrices of their last dim's width ((m, k) or (k, m) when tA, and so on), and gives
// it the shape shape (m·n elements).
func matMul[T num.Float](name string, a, b *G.Node, tA, tB bool, m, n, k int, shape tensor.Shape) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	lda, ldb := as[as.Dims()-1], bs[bs.Dims()-1]
	return rowOp(name, G.Nodes{a, b}, shape, func(vals []*tensor.Dense, c []T) {
		gemm(tA, tB, m, n, k, 1, data[T](vals[0]), lda, data[T](vals[1]), ldb, 0, c, n)
	}, tA, tB, m, n, k)
}

// Add returns a + b for nodes of one shape (a residual connection), reusing its output
// buffer from run to run; the gradient flows to both unchanged.
func Add(a, b *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Add") }
	if err := checkPair(a, "a", b, "b"); err != nil {
		return nil, wrap(err)
	}
	if !a.Shape().Eq(b.Shape()) || a.Dims() != b.Dims() {
		return nil, wrap(errors.Wrapf(ErrShape, "%q is %v and %q is %v", a.Name(), a.Shape(), b.Name(), b.Shape()))
	}
	y, err := build2(a.Dtype(), addOp[float64], addOp[float32], a, b)
	return y, wrap(err)
}

func addOp[T num.Float](a, b *G.Node) (*G.Node, error) {
	s := a.Shape()
	t := hm.TypeVariable('a')
	o := &op{
		name:    "attend.Add",
		arity:   2,
		typ:     hm.NewFnType(tensorType(s.Dims(), t), tensorType(s.Dims(), t), tensorType(s.Dims(), t)),
		shape:   s.Clone(),
		diffWRT: []bool{true, true},
	}
	kernel(o, func(vals []*tensor.Dense, y []T) error {
		addInto(y, data[T](vals[0]), data[T](vals[1]))
		return nil
	})
	o.diff = func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		return G.Nodes{grad, grad}, nil
	}
	return G.ApplyOp(o, a, b)
}

func addInto[T num.Float](dst, a, b []T) {
	if d, ok := any(dst).([]float32); ok {
		addInto32(d, any(a).([]float32), any(b).([]float32))
		return
	}
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// withBiasGrad appends, when the op has a bias, the bias's gradient: grad summed over
// every row.
func withBiasGrad(res G.Nodes, hasBias bool, grad *G.Node) (G.Nodes, error) {
	if !hasBias {
		return res, nil
	}
	db, err := SumRows(grad)
	if err != nil {
		return nil, err
	}
	return append(res, db), nil
}
