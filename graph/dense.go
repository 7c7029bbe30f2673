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
	a := hm.TypeVariable('a')
	inputs := G.Nodes{x, w}
	types := []hm.Type{tensorType(xs.Dims(), a), tensorType(2, a)}
	if b != nil {
		inputs = append(inputs, b)
		types = append(types, tensorType(1, a))
	}
	o := &op{
		name:    fmt.Sprintf("attend.Dense{transW:%v, bias:%v}", transW, b != nil),
		arity:   len(inputs),
		typ:     hm.NewFnType(append(types, tensorType(outShape.Dims(), a))...),
		shape:   outShape,
		diffWRT: []bool{true, true, true}[:len(inputs)],
	}
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
