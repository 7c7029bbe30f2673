package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"

	"github.com/attend-go/attend/internal/par"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// op is the one gorgonia.Op type behind every op in this package. Each op is a value of
// it with its own closures; name describes the op with every parameter that changes its
// result, and it is what the op hashes, so two ops merge only when they compute the same
// thing (Gorgonia hash-conses nodes; see ../shared/GORGONIA.md pitfall 3).
type op struct {
	name    string
	arity   int
	typ     hm.Type
	shape   tensor.Shape // output shape, known when the op is built
	do      func(in []G.Value) (G.Value, error)
	diff    func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) // nil: not differentiable
	diffWRT []bool
	elem    tensor.Dtype // the element type the op was built for; its float inputs must have it
	// buf is the output buffer a Program lends the op for the run of its step (nil
	// outside it): one of the Program's arena, shared with values that are never alive
	// at the same time (see Program).
	buf *tensor.Dense
	own *tensor.Dense   // the op's own output buffer, for a run with none lent
	ins []*tensor.Dense // scratch for the inputs of a run
}

// result returns the op's output tensor of dtype dt: the buffer a Program lent for this
// run, or else the op's own, allocated on the first such run and reused by every later
// one, so a training step allocates no new buffers. Either holds values of an earlier
// run — the op's own or, lent, any other op's — so every kernel must write all of its
// output: one that accumulates must clear it first. Machines that share a graph run
// one after another, never at once, so one own buffer per op suffices.
func (o *op) result(dt tensor.Dtype) *tensor.Dense {
	if o.buf != nil && o.buf.Dtype() == dt {
		return o.buf
	}
	if o.own == nil || o.own.Dtype() != dt {
		o.own = tensor.New(tensor.Of(dt), tensor.WithShape(o.shape.Clone()...))
	}
	return o.own
}

func (o *op) Arity() int                                     { return o.arity }
func (o *op) Type() hm.Type                                  { return o.typ }
func (o *op) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *op) ReturnsPtr() bool                               { return false }
func (o *op) CallsExtern() bool                              { return false }
func (o *op) OverwritesInput() int                           { return -1 }
func (o *op) WriteHash(h hash.Hash)                          { fmt.Fprint(h, o.name) }
func (o *op) String() string                                 { return o.name }

func (o *op) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *op) Do(in ...G.Value) (G.Value, error) {
	if len(in) != o.arity {
		return nil, errors.Errorf("%s: got %d inputs, want %d", o.name, len(in), o.arity)
	}
	if o.elem.Type != nil {
		for i, v := range in {
			if v == nil {
				continue // dense reports it
			}
			if dt := v.Dtype(); (dt == tensor.Float64 || dt == tensor.Float32) && dt != o.elem {
				return nil, errors.Wrapf(ErrDtype, "%s: input %d has dtype %v; the op was built for %v", o.name, i, dt, o.elem)
			}
		}
	}
	v, err := o.do(in)
	return v, errors.Wrap(err, o.name)
}

// DiffWRT says which inputs the op is differentiable with respect to.
func (o *op) DiffWRT(n int) []bool {
	if o.diff == nil {
		return make([]bool, n)
	}
	return o.diffWRT
}

// SymDiff builds the gradient nodes of the inputs.
func (o *op) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.diff == nil {
		return nil, errors.Errorf("%s is not differentiable", o.name)
	}
	return o.diff(in, out, grad)
}

// tensorType is the Gorgonia type of a dims-dimensional tensor of element type of.
func tensorType(dims int, of hm.Type) hm.Type {
	if dims == 0 {
		return of
	}
	return G.TensorType{Dims: dims, Of: of}
}

// dense returns the *tensor.Dense behind a value.
func dense(v G.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("expected a *tensor.Dense, got %T", v)
	}
	return d, nil
}

// scalar returns the float value of a scalar Gorgonia value (or a one-element tensor).
func scalar(v G.Value) (float64, error) {
	switch x := v.Data().(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case []float64:
		if len(x) == 1 {
			return x[0], nil
		}
	case []float32:
		if len(x) == 1 {
			return float64(x[0]), nil
		}
	}
	return 0, errors.Errorf("expected a scalar, got %v of type %T", v.Shape(), v)
}

// parallelFor runs fn(i) for i in [0, n), split over the available cores (internal/par)
// when work — the caller's estimate of the flops of the whole loop — makes it worth it.
func parallelFor(n int, work int, fn func(i int)) { parallelDo(n, work, par.Func(fn)) }

// parallelDo is parallelFor for a loop body that is a value (a struct of the loop's
// operands with a Do method): the loop allocates nothing, split or not (par.ForBody
// pools the copies it shares with the helpers), where parallelFor's closure is
// allocated at every call.
func parallelDo[B par.Body](n int, work int, b B) {
	if n < 2 || !parallelWorth(work) {
		for i := 0; i < n; i++ {
			b.Do(i)
		}
		return
	}
	par.ForBody(n, b)
}

// parallelWorth reports whether parallelDo splits a loop of that much work (of two
// parts or more) over the cores.
func parallelWorth(work int) bool { return work >= 1<<15 && runtime.GOMAXPROCS(0) >= 2 }
