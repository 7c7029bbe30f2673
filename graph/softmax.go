package graph

import (
	"fmt"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftMax returns the softmax of x over its last axis, for 2-D, 3-D and 4-D x.
//
// It is numerically stable for every finite input (logits of ±1e4 included), unlike
// Gorgonia's own SoftMax. mask may be nil; otherwise it is a 0/1 node of x's dtype in
// which 1 marks a blocked entry (see NewMask and SetMask). Blocked entries get exactly 0,
// and a row whose entries are all blocked is all zeros, with zero gradient. For x of
// shape (…, T, K) the mask is (T, K) shared by all leading dims, (B, T, K) per example
// when x is (B, H, T, K), or of x's own shape.
func SoftMax(x, mask *G.Node) (*G.Node, error) {
	return applySoftmax(x, mask, false)
}

// LogSoftMax returns log(SoftMax(x, mask)) computed stably (x − max − log Σ exp). Blocked
// entries are −Inf, the log of their probability 0, and get zero gradient; a fully
// blocked row is all −Inf.
func LogSoftMax(x, mask *G.Node) (*G.Node, error) {
	return applySoftmax(x, mask, true)
}

func applySoftmax(x, mask *G.Node, log bool) (*G.Node, error) {
	what := "SoftMax"
	if log {
		what = "LogSoftMax"
	}
	if err := checkFloat(x, "x"); err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	xs := x.Shape()
	if xs.Dims() < 2 || xs.Dims() > 4 {
		return nil, errors.Wrapf(ErrShape, "graph: %s: x %q is %v; want 2, 3 or 4 dims", what, x.Name(), xs)
	}
	if err := checkSameDtype(x, map[string]*G.Node{"mask": mask}); err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	rowOf, err := maskRows(xs, mask)
	if err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	build, err := byDtype(x.Dtype(), softmaxOp[float64], softmaxOp[float32])
	if err != nil {
		return nil, attend.Wrap(err, "graph: "+what)
	}
	y, err := build(what, x, mask, rowOf, log)
	return y, attend.Wrap(err, "graph: "+what)
}

// softmaxOp builds the (log-)softmax op of element type T; rowOf maps a row of x to its
// row of mask (see maskRows).
func softmaxOp[T num.Float](what string, x, mask *G.Node, rowOf func(int) int, log bool) (*G.Node, error) {
	xs := x.Shape()
	a := hm.TypeVariable('a')
	o := &op{
		name:    fmt.Sprintf("attend.%s{mask:%v}", what, mask != nil),
		arity:   1,
		shape:   xs.Clone(),
		diffWRT: []bool{true},
	}
	inputs := G.Nodes{x}
	if mask != nil {
		o.arity = 2
		o.diffWRT = []bool{true, false}
		o.typ = hm.NewFnType(tensorType(xs.Dims(), a), tensorType(mask.Dims(), a), tensorType(xs.Dims(), a))
		inputs = append(inputs, mask)
	} else {
		o.typ = hm.NewFnType(tensorType(xs.Dims(), a), tensorType(xs.Dims(), a))
	}
	k := xs[xs.Dims()-1]
	kernel(o, func(in []*tensor.Dense, y []T) error {
		softmaxRows(y, data[T](in[0]), optData[T](in, 1), k, rowOf, log)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		g, err := softmaxGradOp[T](out, grad, log)
		return G.Nodes{g, nil}[:len(in)], err
	}
	return G.ApplyOp(o, inputs...)
}

func softmaxRows[T num.Float](dst, src, mask []T, k int, rowOf func(int) int, log bool) {
	rows := len(src) / k
	parallelFor(rows, len(src)*8, func(r int) {
		rm := rowMask[T]{limit: k}
		if mask != nil {
			m := rowOf(r)
			rm.mask = mask[m*k : (m+1)*k]
		}
		if log {
			logSoftmaxRow(dst[r*k:(r+1)*k], src[r*k:(r+1)*k], rm)
		} else {
			softmaxRow(dst[r*k:(r+1)*k], src[r*k:(r+1)*k], rm)
		}
	})
}

// maskRows checks mask's shape against x's and returns the map from a row of x (its
// index over all dims but the last) to the row of the mask that applies to it.
func maskRows(xs tensor.Shape, mask *G.Node) (func(int) int, error) {
	if mask == nil {
		return nil, nil
	}
	ms := mask.Shape()
	d := xs.Dims()
	t := xs[d-2]
	switch {
	case ms.Eq(xs):
		return func(r int) int { return r }, nil
	case ms.Dims() == 2 && ms[0] == t && ms[1] == xs[d-1]:
		return func(r int) int { return r % t }, nil
	case d == 4 && ms.Dims() == 3 && ms[0] == xs[0] && ms[1] == t && ms[2] == xs[3]:
		h := xs[1]
		return func(r int) int { return (r/(h*t))*t + r%t }, nil
	}
	return nil, errors.Wrapf(ErrShape, "mask %q is %v; for x of shape %v want %v, %v or (batch, %d, %d)",
		mask.Name(), ms, xs, xs, tensor.Shape{t, xs[d-1]}, t, xs[d-1])
}

// softmaxGrad returns the node of ∂L/∂x given y = softmax(x) (or log-softmax) and dy.
func softmaxGrad(y, dy *G.Node, log bool) (*G.Node, error) {
	build, err := byDtype(y.Dtype(), softmaxGradOp[float64], softmaxGradOp[float32])
	if err != nil {
		return nil, err
	}
	return build(y, dy, log)
}

func softmaxGradOp[T num.Float](y, dy *G.Node, log bool) (*G.Node, error) {
	ys := y.Shape()
	k := ys[ys.Dims()-1]
	return rowOp(fmt.Sprintf("attend.SoftMaxGrad{log:%v}", log), G.Nodes{y, dy}, ys, func(in []*tensor.Dense, dx []T) {
		softmaxGradRows(dx, data[T](in[0]), data[T](in[1]), k, log)
	})
}

func softmaxGradRows[T num.Float](dx, y, g []T, k int, log bool) {
	if dx, ok := any(dx).([]float32); ok && !log {
		softmaxGradRows32(dx, any(y).([]float32), any(g).([]float32), k)
		return
	}
	rows := len(y) / k
	parallelFor(rows, len(y)*4, func(r int) {
		s := r * k
		if log {
			logSoftmaxGradRow(dx[s:s+k], y[s:s+k], g[s:s+k])
		} else {
			softmaxGradRow(dx[s:s+k], y[s:s+k], g[s:s+k])
		}
	})
}

// checkFloat reports a nil node or one whose dtype is not Float32 or Float64.
func checkFloat(n *G.Node, what string) error {
	if n == nil {
		return errors.Wrapf(ErrArgument, "%s is nil", what)
	}
	if dt := n.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
		return errors.Wrapf(ErrDtype, "%s %q has dtype %v; want float32 or float64", what, n.Name(), dt)
	}
	return nil
}

// checkPair checks that a and b (called an and bn in errors) are float nodes of one dtype.
func checkPair(a *G.Node, an string, b *G.Node, bn string) error {
	if err := checkFloat(a, an); err != nil {
		return err
	}
	if err := checkFloat(b, bn); err != nil {
		return err
	}
	return checkSameDtype(a, map[string]*G.Node{bn: b})
}

// checkSameDtype reports nodes whose dtype differs from ref's.
func checkSameDtype(ref *G.Node, nodes map[string]*G.Node) error {
	for what, n := range nodes {
		if n != nil && n.Dtype() != ref.Dtype() {
			return errors.Wrapf(ErrDtype, "%s %q has dtype %v; want %v like %q", what, n.Name(), n.Dtype(), ref.Dtype(), ref.Name())
		}
	}
	return nil
}
