package graph

import (
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program runs the part of a graph that a set of nodes depends on, in topological order,
// calling each op's Do directly. It is a leaner alternative to Gorgonia's TapeMachine for
// graphs of this package's ops: no per-instruction bookkeeping, no dual values, and —
// because this package's ops reuse their output buffers and Program gives Gorgonia's
// gradient-summing additions buffers of their own — no allocation per run in steady
// state. Gradients are not accumulated across runs: each Run computes them afresh.
//
// Input nodes (and constants) are read from the nodes when Run starts, so G.Let, or
// writing into an input's tensor, changes the next run. Values of computed nodes are
// read with Value, not with the node's own Value method. A Program is not safe for
// concurrent use, and two Programs (or machines) over the same ops must not run at once:
// the ops share their output buffers.
type Program struct {
	steps []step
	slot  map[*G.Node]int // computed node → index into vals
	vals  []G.Value
}

type step struct {
	node *G.Node
	op   G.Op
	in   []arg
	args []G.Value
	out  int
	add  *tensor.Dense // the buffer of a Gorgonia "+" run by Program itself
	// inPlace: a Gorgonia "+" run by Program into its first operand's buffer
	inPlace bool
	// sum adds a Gorgonia "+"'s operands into dst, for the node's element type
	sum func(dst *tensor.Dense, a, b G.Value) (G.Value, error)
}

// arg is an input of a step: a computed node's slot, or a leaf read from its node.
type arg struct {
	slot int // -1 for a leaf
	leaf *G.Node
}

// NewProgram compiles the computation of outputs (and everything they depend on).
func NewProgram(outputs ...*G.Node) (*Program, error) {
	if len(outputs) == 0 {
		return nil, errors.Wrap(ErrArgument, "graph: NewProgram: no outputs")
	}
	p := &Program{slot: map[*G.Node]int{}}
	state := map[*G.Node]int{} // 1 visiting, 2 done
	var visit func(n *G.Node) error
	visit = func(n *G.Node) error {
		switch state[n] {
		case 1:
			return errors.Wrapf(ErrArgument, "graph: NewProgram: cycle through %q", n.Name())
		case 2:
			return nil
		}
		state[n] = 1
		children := childrenOf(n)
		if len(children) == 0 || n.Op() == nil {
			state[n] = 2
			return nil // a leaf: input, learnable or constant
		}
		for _, c := range children {
			if err := visit(c); err != nil {
				return err
			}
		}
		s := step{node: n, op: n.Op(), args: make([]G.Value, len(children)), out: len(p.vals)}
		for _, c := range children {
			if i, ok := p.slot[c]; ok {
				s.in = append(s.in, arg{slot: i})
			} else {
				s.in = append(s.in, arg{slot: -1, leaf: c})
			}
		}
		if isGorgoniaAdd(s.op, children) {
			s.add = tensor.New(tensor.Of(n.Dtype()), tensor.WithShape(n.Shape().Clone()...))
			var err error
			if s.sum, err = byDtype(n.Dtype(), addValues[float64], addValues[float32]); err != nil {
				return attend.Wrapf(err, "graph: NewProgram: %v", n)
			}
		}
		p.slot[n] = len(p.vals)
		p.vals = append(p.vals, nil)
		p.steps = append(p.steps, s)
		state[n] = 2
		return nil
	}
	for _, o := range outputs {
		if o == nil {
			return nil, errors.Wrap(ErrArgument, "graph: NewProgram: nil output")
		}
		if err := visit(o); err != nil {
			return nil, err
		}
	}
	// A gradient-summing addition whose first operand is read by nothing else (and is
	// not an output) accumulates into that operand's buffer instead of its own: the
	// operand is recomputed in full by the next run anyway.
	uses := map[int]int{}
	for _, s := range p.steps {
		for _, a := range s.in {
			if a.slot >= 0 {
				uses[a.slot]++
			}
		}
	}
	for _, o := range outputs {
		if i, ok := p.slot[o]; ok {
			uses[i] += 2
		}
	}
	for i := range p.steps {
		s := &p.steps[i]
		if s.add != nil && s.in[0].slot >= 0 && uses[s.in[0].slot] == 1 && s.in[0].slot != s.in[1].slot {
			s.add, s.inPlace = nil, true
		}
	}
	return p, nil
}

// childrenOf returns a node's inputs in order.
func childrenOf(n *G.Node) []*G.Node {
	var cs []*G.Node
	it := n.Graph().From(n.ID())
	if it == nil {
		return nil
	}
	for it.Next() {
		cs = append(cs, it.Node().(*G.Node))
	}
	return cs
}

// isGorgoniaAdd reports Gorgonia's elementwise addition of two same-shape float tensors,
// which gorgonia.Grad inserts to sum the gradients of a node used more than once.
func isGorgoniaAdd(op G.Op, children []*G.Node) bool {
	if len(children) != 2 || !strings.HasPrefix(op.String(), "+ ") {
		return false
	}
	a, b := children[0], children[1]
	dt := a.Dtype()
	return (dt == tensor.Float32 || dt == tensor.Float64) && b.Dtype() == dt &&
		a.Shape().Eq(b.Shape()) && a.Dims() == b.Dims() && a.Dims() > 0
}

// Run computes every node of the program.
func (p *Program) Run() error {
	for i := range p.steps {
		s := &p.steps[i]
		for j, a := range s.in {
			if a.slot >= 0 {
				s.args[j] = p.vals[a.slot]
			} else {
				s.args[j] = a.leaf.Value()
				if s.args[j] == nil {
					return errors.Wrapf(ErrArgument, "graph: Program: input %q has no value", a.leaf.Name())
				}
			}
		}
		var v G.Value
		var err error
		switch {
		case s.add != nil:
			v, err = s.sum(s.add, s.args[0], s.args[1])
		case s.inPlace:
			var dst *tensor.Dense
			if dst, err = dense(s.args[0]); err == nil {
				v, err = s.sum(dst, s.args[0], s.args[1])
			}
		default:
			v, err = s.op.Do(s.args...)
		}
		if err != nil {
			return attend.Wrapf(err, "graph: Program: running %v", s.node)
		}
		p.vals[s.out] = v
	}
	return nil
}

func addValues[T num.Float](dst *tensor.Dense, a, b G.Value) (G.Value, error) {
	x, err := dense(a)
	if err != nil {
		return nil, err
	}
	y, err := dense(b)
	if err != nil {
		return nil, err
	}
	if x.Dtype() != dst.Dtype() || y.Dtype() != dst.Dtype() {
		return nil, errors.Wrapf(ErrDtype, "adding %v and %v into %v", x.Dtype(), y.Dtype(), dst.Dtype())
	}
	addInto(data[T](dst), data[T](x), data[T](y))
	return dst, nil
}

// Value returns the value n had in the last Run: a computed node's result, or a leaf's
// own value. It is nil for a computed node before the first Run, and for a node the
// program does not compute.
func (p *Program) Value(n *G.Node) G.Value {
	if i, ok := p.slot[n]; ok {
		return p.vals[i]
	}
	return n.Value()
}

// Len is the number of ops the program runs.
func (p *Program) Len() int { return len(p.steps) }
