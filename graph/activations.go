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

// The elementwise activations of modern decoders: SiLU and SwiGLU (Llama's MLP),
// ReLUSquared (nanochat's MLP), SoftCap (logit soft-capping, Gemma 2 and nanochat).
// Each is one fused op with a hand-written backward pass, built for its nodes' element
// type. They take any shape, zero-size included, and NaN in gives NaN out.

// SiLU is the sigmoid linear unit x·σ(x) = x / (1 + e^−x) (Swish-1), as PyTorch's
// F.silu.
func SiLU(x *G.Node) (*G.Node, error) {
	return build1("SiLU", x, siluOp[float64], siluOp[float32])
}

func siluOp[T num.Float](x *G.Node) (*G.Node, error) {
	return pointwiseOp("attend.SiLU", 0, siluForward[T], []ewFunc[T]{siluGrad[T]}, 12, x)
}

// SwiGLU is silu(a) ⊙ b, fused: the gated unit of Llama's feed-forward block
// w2(silu(x·w1) ⊙ (x·w3)), with a = x·w1 (the gate) and b = x·w3 (the up projection).
// a and b must have one shape and dtype.
func SwiGLU(a, b *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: SwiGLU") }
	if err := checkPair(a, "a", b, "b"); err != nil {
		return nil, wrap(err)
	}
	if !a.Shape().Eq(b.Shape()) {
		return nil, wrap(errors.Wrapf(ErrShape, "a %q is %v and b %q is %v; want one shape", a.Name(), a.Shape(), b.Name(), b.Shape()))
	}
	y, err := build2(a.Dtype(), swigluOp[float64], swigluOp[float32], a, b)
	return y, wrap(err)
}

func swigluOp[T num.Float](a, b *G.Node) (*G.Node, error) {
	return pointwiseOp("attend.SwiGLU", 0, swigluForward[T], []ewFunc[T]{swigluGradA[T], swigluGradB[T]}, 14, a, b)
}

// ReLUSquared is relu(x)² = max(x, 0)², nanochat's MLP activation.
func ReLUSquared(x *G.Node) (*G.Node, error) {
	return build1("ReLUSquared", x, relu2Op[float64], relu2Op[float32])
}

func relu2Op[T num.Float](x *G.Node) (*G.Node, error) {
	return pointwiseOp("attend.ReLUSquared", 0, relu2Forward[T], []ewFunc[T]{relu2Grad[T]}, 2, x)
}

// SoftCap is c·tanh(z/c): logit soft-capping, which bounds z to (−c, c) smoothly and is
// close to the identity for |z| ≪ c. c must be finite and > 0.
func SoftCap(z *G.Node, c float64) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: SoftCap") }
	if err := checkFloat(z, "z"); err != nil {
		return nil, wrap(err)
	}
	if !(c > 0) || math.IsInf(c, 0) {
		return nil, wrap(errors.Wrapf(ErrArgument, "cap c = %v; want finite and > 0", c))
	}
	build, err := byDtype(z.Dtype(), softCapOp[float64], softCapOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(z, c)
	return y, wrap(err)
}

func softCapOp[T num.Float](z *G.Node, c float64) (*G.Node, error) {
	return pointwiseOp("attend.SoftCap", c, softCapForward[T], []ewFunc[T]{softCapGrad[T]}, 20, z)
}

// ewFunc is an elementwise kernel over one chunk: out[i] from a[i], b[i], c[i] (nil
// when the kernel has fewer operands) and the op's parameter p.
type ewFunc[T num.Float] func(out, a, b, c []T, p float64)

// pointwiseOp builds an elementwise op of element type T over inputs of one shape,
// with output of that shape: fwd computes it from the inputs; grads[i] computes the
// gradient of input i from the inputs followed by the output's gradient. p is the op's
// parameter (hashed into its name); work is a rough cost per element, for deciding
// whether to split a loop across cores.
func pointwiseOp[T num.Float](name string, p float64, fwd ewFunc[T], grads []ewFunc[T], work int, inputs ...*G.Node) (*G.Node, error) {
	xs := inputs[0].Shape()
	ranks := make([]int, len(inputs))
	for i := range ranks {
		ranks[i] = xs.Dims()
	}
	o, _ := paramOp(fmt.Sprintf("%s{%v}", name, p), xs.Clone(), inputs, ranks, nil)
	kernel(o, func(in []*tensor.Dense, y []T) error {
		elementwise(fwd, work, p, y, optData[T](in, 0), optData[T](in, 1), nil)
		return nil
	})
	o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		gin := append(append(G.Nodes{}, in...), grad)
		res := make(G.Nodes, len(in))
		for i, f := range grads {
			var err error
			res[i], err = rowOp(fmt.Sprintf("%sGrad%d", name, i), gin, xs, func(v []*tensor.Dense, d []T) {
				elementwise(f, work, p, d, optData[T](v, 0), optData[T](v, 1), optData[T](v, 2))
			}, p)
			if err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	return G.ApplyOp(o, inputs...)
}

// ewChunk is how many elements one part of an elementwise loop does.
const ewChunk = 4096

// elementwise runs f over out, a, b, c in chunks, split across cores when the loop is
// big enough.
func elementwise[T num.Float](f ewFunc[T], work int, p float64, out, a, b, c []T) {
	parallelDo((len(out)+ewChunk-1)/ewChunk, len(out)*work, ewChunks[T]{f, p, out, a, b, c})
}

// ewChunks is elementwise's loop body (a value, so that the loop
// allocates nothing): chunk k of out = f(a, b, c).
type ewChunks[T num.Float] struct {
	f            ewFunc[T]
	p            float64
	out, a, b, c []T
}

func (e ewChunks[T]) Do(k int) {
	lo, hi := k*ewChunk, min((k+1)*ewChunk, len(e.out))
	e.f(e.out[lo:hi], chunkOf(e.a, lo, hi), chunkOf(e.b, lo, hi), chunkOf(e.c, lo, hi), e.p)
}

func chunkOf[T num.Float](s []T, lo, hi int) []T {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// sigmoid is 1/(1 + e^−x), with exp32 in float32; it is 0 (not NaN) far below 0.
func sigmoid[T num.Float](x T) T { return 1 / (1 + expOf(-x)) }

// siluForward: y = x / (1 + e^−x), PyTorch's form.
func siluForward[T num.Float](y, x, _, _ []T, _ float64) {
	for i, v := range x {
		y[i] = v / (1 + expOf(-v))
	}
}

// siluDeriv is silu'(x) = σ(x)·(1 + x·(1 − σ(x))), PyTorch's form.
func siluDeriv[T num.Float](x T) T {
	s := sigmoid(x)
	return s * (1 + x*(1-s))
}

// siluGrad: dx = dy · silu'(x).
func siluGrad[T num.Float](dx, x, dy, _ []T, _ float64) {
	for i, v := range x {
		dx[i] = dy[i] * siluDeriv(v)
	}
}

// swigluForward: y = silu(a) · b.
func swigluForward[T num.Float](y, a, b, _ []T, _ float64) {
	for i, v := range a {
		y[i] = v / (1 + expOf(-v)) * b[i]
	}
}

// swigluGradA: da = dy · b · silu'(a).
func swigluGradA[T num.Float](da, a, b, dy []T, _ float64) {
	for i, v := range a {
		da[i] = dy[i] * b[i] * siluDeriv(v)
	}
}

// swigluGradB: db = dy · silu(a).
func swigluGradB[T num.Float](db, a, _, dy []T, _ float64) {
	for i, v := range a {
		db[i] = dy[i] * (v / (1 + expOf(-v)))
	}
}

// relu2Forward: y = max(x, 0)² (NaN stays NaN: the built-in max keeps it).
func relu2Forward[T num.Float](y, x, _, _ []T, _ float64) {
	for i, v := range x {
		r := max(v, 0)
		y[i] = r * r
	}
}

// relu2Grad: dx = 2 · max(x, 0) · dy.
func relu2Grad[T num.Float](dx, x, dy, _ []T, _ float64) {
	for i, v := range x {
		dx[i] = 2 * max(v, 0) * dy[i]
	}
}

// softCapForward: y = c · tanh(z / c), tanh in float64.
func softCapForward[T num.Float](y, z, _, _ []T, c float64) {
	for i, v := range z {
		y[i] = T(c * math.Tanh(float64(v)/c))
	}
}

// softCapGrad: dz = dy · (1 − tanh²(z / c)).
func softCapGrad[T num.Float](dz, z, dy, _ []T, c float64) {
	for i, v := range z {
		t := math.Tanh(float64(v) / c)
		dz[i] = T(float64(dy[i]) * (1 - t*t))
	}
}
