package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerNorm normalises x over its last axis (C) and applies a gain and an optional bias:
// y = (x − mean) / √(var + eps) · gain + bias, with the biased variance, as PyTorch's
// nn.LayerNorm. x is (…, C), gain and bias are (C). Forward and backward are fused.
func LayerNorm(x, gain, bias *G.Node, eps float64) (*G.Node, error) {
	wrap := func(err error) error { return errors.Wrap(err, "graph: LayerNorm") }
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
	if !(eps > 0) || math.IsInf(eps, 0) {
		return nil, wrap(errors.Wrapf(ErrArgument, "eps = %v; want > 0", eps))
	}
	a := hm.TypeVariable('a')
	inputs := G.Nodes{x, gain}
	types := []hm.Type{tensorType(xs.Dims(), a), tensorType(1, a)}
	if bias != nil {
		inputs = append(inputs, bias)
		types = append(types, tensorType(1, a))
	}
	o := &op{
		name:    fmt.Sprintf("attend.LayerNorm{eps:%v, bias:%v}", eps, bias != nil),
		arity:   len(inputs),
		typ:     hm.NewFnType(append(types, tensorType(xs.Dims(), a))...),
		shape:   xs.Clone(),
		diffWRT: []bool{true, true, true}[:len(inputs)],
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(vals[0].Dtype())
		switch vals[0].Dtype() {
		case tensor.Float64:
			xd := f64s(vals[0])
			layerNormForward(f64s(out), xd, f64s(vals[1]), optData[float64](vals, 2), c, eps)
		case tensor.Float32:
			xd := f32s(vals[0])
			layerNormForward(f32s(out), xd, f32s(vals[1]), optData[float32](vals, 2), c, eps)
		}
		return out, nil
	}
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		dx, err := rowOp("attend.LayerNormGradX", G.Nodes{in[0], in[1], grad}, xs, func(vals []*tensor.Dense, out *tensor.Dense) {
			switch vals[0].Dtype() {
			case tensor.Float64:
				xd := f64s(vals[0])
				layerNormGradX(f64s(out), xd, f64s(vals[1]), f64s(vals[2]), c, eps)
			case tensor.Float32:
				xd := f32s(vals[0])
				layerNormGradX(f32s(out), xd, f32s(vals[1]), f32s(vals[2]), c, eps)
			}
		}, eps)
		if err != nil {
			return nil, err
		}
		acc := make([]float64, c) // float64 column sums, kept from run to run
		dg, err := rowOp("attend.LayerNormGradGain", G.Nodes{in[0], grad}, tensor.Shape{c}, func(vals []*tensor.Dense, out *tensor.Dense) {
			switch vals[0].Dtype() {
			case tensor.Float64:
				xd := f64s(vals[0])
				layerNormGradGain(f64s(out), xd, f64s(vals[1]), c, eps, acc)
			case tensor.Float32:
				xd := f32s(vals[0])
				layerNormGradGain(f32s(out), xd, f32s(vals[1]), c, eps, acc)
			}
		}, eps)
		if err != nil {
			return nil, err
		}
		return withBiasGrad(G.Nodes{dx, dg}, len(in) == 3, grad)
	}
	y, err := G.ApplyOp(o, inputs...)
	return y, wrap(err)
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

func optData[T float](vals []*tensor.Dense, i int) []T {
	if i < len(vals) {
		return data[T](vals[i])
	}
	return nil
}

// rowOp builds a non-differentiable op over inputs of one dtype whose output has the
// given shape, computed by fill into a fresh tensor. extra goes into the op's hash.
func rowOp(name string, inputs G.Nodes, shape tensor.Shape, fill func(vals []*tensor.Dense, out *tensor.Dense), extra ...any) (*G.Node, error) {
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+1)
	for _, n := range inputs {
		types = append(types, tensorType(n.Dims(), a))
	}
	o := &op{
		name:  fmt.Sprintf("%s%v", name, extra),
		arity: len(inputs),
		typ:   hm.NewFnType(append(types, tensorType(shape.Dims(), a))...),
		shape: shape.Clone(),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(vals[0].Dtype())
		fill(vals, out)
		return out, nil
	}
	return G.ApplyOp(o, inputs...)
}

// rowStats returns the mean and 1/√(var + eps) of one row.
func rowStats[T float](x []T, eps float64) (mean, rstd float64) {
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

func layerNormForward[T float](y, x, g, b []T, c int, eps float64) {
	parallelFor(len(x)/c, len(x)*8, func(r int) {
		row, out := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
		mean, rstd := rowStats(row, eps)
		for j, v := range row {
			o := (float64(v) - mean) * rstd * float64(g[j])
			if b != nil {
				o += float64(b[j])
			}
			out[j] = T(o)
		}
	})
}

// layerNormGradX: dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)), dŷ = dy ⊙ gain.
func layerNormGradX[T float](dx, x, g, dy []T, c int, eps float64) {
	parallelFor(len(x)/c, len(x)*12, func(r int) {
		row, d, out := x[r*c:(r+1)*c], dy[r*c:(r+1)*c], dx[r*c:(r+1)*c]
		mean, rstd := rowStats(row, eps)
		var m1, m2 float64
		for j, v := range row {
			dh := float64(d[j]) * float64(g[j])
			m1 += dh
			m2 += dh * (float64(v) - mean) * rstd
		}
		m1 /= float64(c)
		m2 /= float64(c)
		for j, v := range row {
			xh := (float64(v) - mean) * rstd
			out[j] = T(rstd * (float64(d[j])*float64(g[j]) - m1 - xh*m2))
		}
	})
}

// layerNormGradGain: dgain = Σ_rows dy ⊙ x̂.
func layerNormGradGain[T float](dg, x, dy []T, c int, eps float64, acc []float64) {
	clear(acc)
	for r := 0; r < len(x)/c; r++ {
		row, d := x[r*c:(r+1)*c], dy[r*c:(r+1)*c]
		mean, rstd := rowStats(row, eps)
		for j, v := range row {
			acc[j] += float64(d[j]) * (float64(v) - mean) * rstd
		}
	}
	for j := range dg {
		dg[j] = T(acc[j])
	}
}

// SumRows sums x (…, C) over every axis but the last, giving (C): the gradient of a bias
// broadcast over rows.
func SumRows(x *G.Node) (*G.Node, error) {
	if err := checkFloat(x, "x"); err != nil {
		return nil, errors.Wrap(err, "graph: SumRows")
	}
	xs := x.Shape()
	c := xs[xs.Dims()-1]
	acc := make([]float64, c) // float64 column sums, kept from run to run
	return rowOp("attend.SumRows", G.Nodes{x}, tensor.Shape{c}, func(vals []*tensor.Dense, out *tensor.Dense) {
		switch vals[0].Dtype() {
		case tensor.Float64:
			xd := f64s(vals[0])
			sumRows(f64s(out), xd, c, acc)
		case tensor.Float32:
			xd := f32s(vals[0])
			sumRows(f32s(out), xd, c, acc)
		}
	})
}

// sumRows writes the column sums of x (rows of c) into dst, accumulating in acc (len c).
func sumRows[T float](dst, x []T, c int, acc []float64) {
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
	if err := checkFloat(x, "x"); err != nil {
		return nil, errors.Wrap(err, "graph: GELU")
	}
	xs := x.Shape()
	a := hm.TypeVariable('a')
	o := &op{
		name:    "attend.GELU",
		arity:   1,
		typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(xs.Dims(), a)),
		shape:   xs.Clone(),
		diffWRT: []bool{true},
	}
	o.do = func(in []G.Value) (G.Value, error) {
		xv, err := dense(in[0])
		if err != nil {
			return nil, err
		}
		out := o.result(xv.Dtype())
		switch xv.Dtype() {
		case tensor.Float64:
			xd := f64s(xv)
			geluForward(f64s(out), xd)
		case tensor.Float32:
			xd := f32s(xv)
			geluForward32(f32s(out), xd)
		}
		return out, nil
	}
	// The backward pass reads the forward output y too: in float32 it recovers Φ(x) as
	// y/x instead of a second erf.
	o.diff = func(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
		dx, err := rowOp("attend.GELUGrad", G.Nodes{in[0], y, grad}, xs, func(vals []*tensor.Dense, out *tensor.Dense) {
			switch vals[0].Dtype() {
			case tensor.Float64:
				xd := f64s(vals[0])
				geluBackward(f64s(out), xd, f64s(vals[2]))
			case tensor.Float32:
				xd := f32s(vals[0])
				geluBackward32(f32s(out), xd, f32s(vals[1]), f32s(vals[2]))
			}
		})
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(o, x)
}

// erfOf is math.Erf in float64 and the faster erf32 in float32.
func erfOf[T float](v T) T {
	if x, ok := any(v).(float32); ok {
		return T(erf32(x))
	}
	return T(math.Erf(float64(v)))
}

func geluForward[T float](y, x []T) {
	const chunk = 4096
	parallelFor((len(x)+chunk-1)/chunk, len(x)*20, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(x)); i++ {
			v := x[i]
			y[i] = 0.5 * v * (1 + erfOf(v*math.Sqrt2/2))
		}
	})
}

func geluBackward[T float](dx, x, dy []T) {
	const chunk = 4096
	parallelFor((len(x)+chunk-1)/chunk, len(x)*30, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(x)); i++ {
			v := x[i]
			cdf := 0.5 * (1 + erfOf(v*math.Sqrt2/2))
			pdf := expOf(-0.5*v*v) * T(1/math.Sqrt(2*math.Pi))
			dx[i] = dy[i] * (cdf + v*pdf)
		}
	})
}

// Embed looks up rows of table (V, C) by integer ids, (N) or (B, T), giving (N, C) or
// (B, T, C). Its gradient scatter-adds into the table (repeated ids add up). An id
// outside [0, V) is an error when the graph runs.
func Embed(table, ids *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return errors.Wrap(err, "graph: Embed") }
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
	o.do = func(in []G.Value) (G.Value, error) {
		tv, err := dense(in[0])
		if err != nil {
			return nil, err
		}
		iv, err := dense(in[1])
		if err != nil {
			return nil, err
		}
		out := o.result(tv.Dtype())
		id := ints(iv)
		switch tv.Dtype() {
		case tensor.Float64:
			td := f64s(tv)
			err = embedForward(f64s(out), td, id, v, c)
		case tensor.Float32:
			td := f32s(tv)
			err = embedForward(f32s(out), td, id, v, c)
		}
		return out, err
	}
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		gOp := &op{
			name:  "attend.EmbedGrad",
			arity: 2,
			typ:   hm.NewFnType(tensorType(is.Dims(), tensor.Int), tensorType(outShape.Dims(), a), tensorType(2, a)),
			shape: ts.Clone(),
		}
		gOp.do = func(in []G.Value) (G.Value, error) {
			iv, err := dense(in[0])
			if err != nil {
				return nil, err
			}
			gv, err := dense(in[1])
			if err != nil {
				return nil, err
			}
			out := gOp.result(gv.Dtype())
			out.Zero() // the gradient is scatter-added
			id := ints(iv)
			switch gv.Dtype() {
			case tensor.Float64:
				gd := f64s(gv)
				embedBackward(f64s(out), gd, id, c)
			case tensor.Float32:
				gd := f32s(gv)
				embedBackward(f32s(out), gd, id, c)
			}
			return out, nil
		}
		dt, err := G.ApplyOp(gOp, in[1], grad)
		return G.Nodes{dt, nil}, err
	}
	y, err := G.ApplyOp(o, table, ids)
	return y, wrap(err)
}

func embedForward[T float](out, table []T, ids []int, v, c int) error {
	for i, id := range ids {
		if id < 0 || id >= v {
			return errors.Wrapf(ErrArgument, "id %d at position %d is outside the table of %d rows", id, i, v)
		}
		copy(out[i*c:(i+1)*c], table[id*c:(id+1)*c])
	}
	return nil
}

func embedBackward[T float](dt, g []T, ids []int, c int) {
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
	wrap := func(err error) error { return errors.Wrap(err, "graph: AddPositions") }
	if err := checkPair(x, "x", pos, "pos"); err != nil {
		return nil, wrap(err)
	}
	xs, ps := x.Shape(), pos.Shape()
	if (xs.Dims() != 2 && xs.Dims() != 3) || ps.Dims() != 2 {
		return nil, wrap(errors.Wrapf(ErrShape, "x %v and pos %v; want (B, T, C) or (T, C) and (P, C)", xs, ps))
	}
	_, t, c := seqDims(xs)
	if ps[1] != c || ps[0] < t {
		return nil, wrap(errors.Wrapf(ErrShape, "pos %v cannot cover x %v: want (P ≥ %d, %d)", ps, xs, t, c))
	}
	a := hm.TypeVariable('a')
	o := &op{
		name:    "attend.AddPositions",
		arity:   2,
		typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(2, a), tensorType(xs.Dims(), a)),
		shape:   xs.Clone(),
		diffWRT: []bool{true, true},
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(vals[0].Dtype())
		switch vals[0].Dtype() {
		case tensor.Float64:
			xd := f64s(vals[0])
			addPositions(f64s(out), xd, f64s(vals[1]), t*c)
		case tensor.Float32:
			xd := f32s(vals[0])
			addPositions(f32s(out), xd, f32s(vals[1]), t*c)
		}
		return out, nil
	}
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		acc := make([]float64, t*c)
		dp, err := rowOp("attend.AddPositionsGrad", G.Nodes{grad}, ps, func(vals []*tensor.Dense, out *tensor.Dense) {
			out.Zero() // rows ≥ T get no gradient
			switch vals[0].Dtype() {
			case tensor.Float64:
				gd := f64s(vals[0])
				sumRows(f64s(out)[:t*c], gd, t*c, acc)
			case tensor.Float32:
				gd := f32s(vals[0])
				sumRows(f32s(out)[:t*c], gd, t*c, acc)
			}
		}, ps)
		return G.Nodes{grad, dp}, err
	}
	y, err := G.ApplyOp(o, x, pos)
	return y, wrap(err)
}

func addPositions[T float](out, x, pos []T, tc int) {
	for i := range x {
		out[i] = x[i] + pos[i%tc]
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
	wrap := func(err error) error { return errors.Wrap(err, "graph: Dropout") }
	if err := checkFloat(x, "x"); err != nil {
		return nil, wrap(err)
	}
	if !(p >= 0 && p < 1) || mode == nil {
		return nil, wrap(errors.Wrapf(ErrArgument, "p = %v (want [0, 1)) and mode %v (want non-nil)", p, mode))
	}
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
	apply := func(out, in *tensor.Dense) {
		switch out.Dtype() {
		case tensor.Float64:
			od := f64s(out)
			dropoutApply(od, f64s(in), keep, scale)
		case tensor.Float32:
			od := f32s(out)
			dropoutApply(od, f32s(in), keep, scale)
		}
	}
	o.do = func(in []G.Value) (G.Value, error) {
		xv, err := dense(in[0])
		if err != nil {
			return nil, err
		}
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
		out := o.result(xv.Dtype())
		apply(out, xv)
		return out, nil
	}
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		dx, err := rowOp("attend.DropoutGrad", G.Nodes{grad}, xs, func(vals []*tensor.Dense, out *tensor.Dense) {
			apply(out, vals[0])
		}, seed)
		return G.Nodes{dx}, err
	}
	y, err := G.ApplyOp(o, x)
	return y, wrap(err)
}

func dropoutApply[T float](out, in []T, keep []bool, scale float64) {
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
