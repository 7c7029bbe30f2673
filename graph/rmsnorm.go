package graph

import (
	"fmt"
	"math"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

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

// rmsNormRows is rmsNormForward's loop body (a value, so a loop that stays on the
// caller allocates nothing): y = x · r · g for row i of c columns, r = 1/rms.
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
