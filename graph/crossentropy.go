package graph

import (
	"math"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CrossEntropy returns the mean cross-entropy of logits against integer class targets,
// fused and stable (log-sum-exp with the row maximum subtracted), like PyTorch's
// F.cross_entropy with ignore_index = -1.
//
// logits is (N, V) or (B, T, V); targets is an input node of dtype tensor.Int with the
// shape of logits minus its last axis. A negative target marks a position that is not
// scored: it adds nothing to the loss and gets zero gradient, and the mean is over the
// scored positions only (0, with zero gradient, when none is scored). A target ≥ V is
// an error when the graph runs.
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
	build, err := byDtype(logits.Dtype(), crossEntropyOp[float64], crossEntropyOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	loss, err := build(logits, targets)
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

func logSumExp[T num.Float](row []T) float64 {
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
		softmaxRow(d, row, rowMask[T]{limit: v})
		for j := range d {
			d[j] = T(float64(d[j]) * scale)
		}
		d[t] -= T(scale)
	})
	return nil
}
