package graph

import (
	"math"
	"slices"
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program runs the part of a graph that a set of nodes depends on, in topological order,
// calling each op's Do directly. It is a leaner alternative to Gorgonia's TapeMachine for
// graphs of this package's ops: no per-instruction bookkeeping, no dual values, and no
// allocation per run in steady state. Gradients are not accumulated across runs: each
// Run computes them afresh.
//
// Memory follows liveness. The program lends each of this package's ops (and each of
// Gorgonia's gradient-summing additions, which it runs itself) its output buffer from an
// arena of its own, planned when the program is built: a value's buffer is reused by a
// later value once every step that reads the first has run. A training step then holds
// what its backward pass still needs, not every op's output at once. The outputs given
// to NewProgram get buffers of their own, which keep their values until the next Run of
// the same program (another program over the same ops has its own arena). Gorgonia's
// other ops allocate their results as they do under a TapeMachine; as such a result may
// be a view of its inputs, their buffers stay alive as long as it does.
//
// Input nodes (and constants) are read from the nodes when Run starts, so G.Let, or
// writing into an input's tensor, changes the next run. Values of the outputs are read
// with Value, not with the node's own Value method; the values of other computed nodes
// are not kept. A Program is not safe for concurrent use, and two Programs (or machines)
// over the same ops must not run at once: the ops keep per-run state.
type Program struct {
	steps  []step
	slot   map[*G.Node]int // computed node → index into vals
	vals   []G.Value
	output []bool // by slot: an output of the program
	plan   *arenaPlan
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
	// lend: this package's op, lent buf (from the arena) for its run
	lend *op
	buf  *tensor.Dense
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
			if !shareBuffers {
				s.add = tensor.New(tensor.Of(n.Dtype()), tensor.WithShape(n.Shape().Clone()...))
			}
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
	if shareBuffers {
		p.hoistOutputs(outputs)
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
	p.output = make([]bool, len(p.steps))
	for _, o := range outputs {
		if i, ok := p.slot[o]; ok {
			uses[i] += 2
			p.output[i] = true
		}
	}
	for i := range p.steps {
		s := &p.steps[i]
		if s.sum != nil && s.in[0].slot >= 0 && uses[s.in[0].slot] == 1 && s.in[0].slot != s.in[1].slot {
			s.add, s.inPlace = nil, true
		}
	}
	if shareBuffers {
		p.plan = p.planArena()
	}
	return p, nil
}

// hoistOutputs moves each step computing an output to just after the last step it reads,
// keeping the order of the others: an output's buffer is the program's for good
// anyway, and its inputs — a layer's activations and upstream gradient, for the
// gradient of its weights — are then free sooner (the depth-first order computes the
// gradients of most weights at the very end). A step only moves earlier, after all of
// its inputs, so the order stays topological; the ops whose state passes from one to
// another (Dropout's mask, FlashAttention's log-sum-exp) are joined by data edges too.
func (p *Program) hoistOutputs(outputs G.Nodes) {
	isOut := map[int]bool{}
	for _, o := range outputs {
		if i, ok := p.slot[o]; ok {
			isOut[i] = true
		}
	}
	order := make([]int, 0, len(p.steps)) // old step indices in the new order
	pos := make([]int, len(p.steps))      // old index → position in order
	for i, s := range p.steps {
		at := len(order)
		if isOut[i] {
			at = 0
			for _, a := range s.in {
				if a.slot >= 0 {
					at = max(at, pos[a.slot]+1)
				}
			}
		}
		order = slices.Insert(order, at, i)
		for j := at; j < len(order); j++ {
			pos[order[j]] = j
		}
	}
	steps := make([]step, len(p.steps))
	for j, i := range order {
		s := p.steps[i]
		s.out = j
		for k := range s.in {
			if s.in[k].slot >= 0 {
				s.in[k].slot = pos[s.in[k].slot]
			}
		}
		steps[j] = s
		p.slot[s.node] = j
	}
	p.steps = steps
}

// shareBuffers turns the arena on (see Program); tests turn it off to compare.
var shareBuffers = true

// poisonBuffers makes Run fill every buffer it lends with NaN before the step runs and
// check that the op returned it: a test mode showing that no op reads what its buffer
// held before, nor hands back another tensor.
var poisonBuffers = false

// arenaPlan is the assignment of a program's lent buffers, made by planArena.
type arenaPlan struct {
	bufs     []arenaBuf
	use      []int // by step: index into bufs, −1 for a step lent nothing
	unshared int64 // bytes of one buffer per lent value
	bytes    int64 // bytes of bufs
	ready    bool  // bufs allocated and lent to the steps
}

// arenaBuf is one buffer of the arena: n elements of dtype dt, enough for every value
// it holds in turn.
type arenaBuf struct {
	dt   tensor.Dtype
	n    int
	data *tensor.Dense
}

// forever is the last use of a value that outlives the run: an output.
const forever = math.MaxInt

// planArena plans the buffers lent to the steps. A step is lent a buffer when it is one
// of this package's ops (not a scalar) or a gradient-summing addition with a buffer of
// its own, of float32 or float64. Its value lives from its step to the last step that
// reads it — or reads a value that may alias it: a Gorgonia op's result (which may be a
// view of its inputs) or an addition into its first operand. A buffer returns to the
// pool after that step, so a step never gets the buffer of one of its own inputs. The
// outputs' buffers never return: they are the program's alone. A step takes a free
// buffer of its dtype of exactly its size, else the smallest larger one (its value is a
// view of the first elements), else the largest smaller one, grown to fit; else a new
// one.
func (p *Program) planArena() *arenaPlan {
	n := len(p.steps)
	pl := &arenaPlan{use: make([]int, n)}
	lastRead := make([]int, n) // by slot: slots are step indices
	for i := range p.steps {
		lastRead[i] = i
	}
	for i, s := range p.steps {
		for _, a := range s.in {
			if a.slot >= 0 {
				lastRead[a.slot] = max(lastRead[a.slot], i)
			}
		}
	}
	for i, out := range p.output {
		if out {
			lastRead[i] = forever
		}
	}
	lent := make([]bool, n)
	roots := make([][]int, n) // by slot: the lent steps whose buffers the value may be in
	for i := range p.steps {
		s := &p.steps[i]
		dt := s.node.Dtype()
		float := dt == tensor.Float32 || dt == tensor.Float64
		o, ours := s.op.(*op)
		switch {
		case ours && float && o.shape.Dims() > 0 && o.shape.TotalSize() == s.node.Shape().TotalSize():
			s.lend, lent[i], roots[i] = o, true, []int{i}
		case s.sum != nil && !s.inPlace:
			lent[i], roots[i] = true, []int{i}
		case s.inPlace:
			roots[i] = roots[s.in[0].slot]
		case ours:
			// this package's ops return their own buffer or a new value, never an input
		default:
			seen := map[int]bool{}
			for _, a := range s.in {
				if a.slot < 0 {
					continue
				}
				for _, r := range roots[a.slot] {
					if !seen[r] {
						seen[r] = true
						roots[i] = append(roots[i], r)
					}
				}
			}
		}
	}
	lastUse := make([]int, n) // by lent step: the last step its buffer must survive
	for i := range p.steps {
		for _, r := range roots[i] {
			lastUse[r] = max(lastUse[r], lastRead[i])
		}
	}
	frees := make([][]int, n) // by step: the lent steps whose buffers are free after it
	for i, l := range lent {
		if l && lastUse[i] != forever {
			frees[lastUse[i]] = append(frees[lastUse[i]], i)
		}
	}
	free := map[tensor.Dtype][]int{} // free buffers
	for i := range p.steps {
		pl.use[i] = -1
		if lent[i] {
			dt, size := p.steps[i].node.Dtype(), p.steps[i].node.Shape().TotalSize()
			pl.unshared += int64(size) * int64(dt.Size())
			b := -1
			if lastUse[i] != forever {
				b = pickFree(pl.bufs, free[dt], size)
			}
			if b < 0 {
				b = len(pl.bufs)
				pl.bufs = append(pl.bufs, arenaBuf{dt: dt})
			} else {
				free[dt] = slices.DeleteFunc(free[dt], func(f int) bool { return f == b })
			}
			pl.bufs[b].n = max(pl.bufs[b].n, size)
			pl.use[i] = b
		}
		for _, r := range frees[i] {
			b := pl.use[r]
			free[pl.bufs[b].dt] = append(free[pl.bufs[b].dt], b)
		}
	}
	for _, b := range pl.bufs {
		pl.bytes += int64(b.n) * int64(b.dt.Size())
	}
	return pl
}

// pickFree returns the free buffer (an index into bufs) for a value of size elements:
// one of exactly that size, else the smallest larger one up to twice the size (a small
// value would keep a much larger buffer from the big values), else the largest smaller
// one (to be grown); −1 when none fits.
func pickFree(bufs []arenaBuf, free []int, size int) int {
	larger, smaller := -1, -1
	for _, f := range free {
		switch n := bufs[f].n; {
		case n == size:
			return f
		case n > size && n <= 2*size:
			if larger < 0 || n < bufs[larger].n {
				larger = f
			}
		case n < size:
			if smaller < 0 || n > bufs[smaller].n {
				smaller = f
			}
		}
	}
	if larger >= 0 {
		return larger
	}
	return smaller
}

// realize allocates the arena and lends its buffers to the steps: a step's buffer is a
// tensor of the step's shape over the first elements of its arena buffer.
func (p *Program) realize() error {
	pl := p.plan
	for i := range pl.bufs {
		b := &pl.bufs[i]
		b.data = tensor.New(tensor.Of(b.dt), tensor.WithShape(b.n))
	}
	for i, u := range pl.use {
		if u < 0 {
			continue
		}
		s := &p.steps[i]
		shape := s.node.Shape().Clone()
		if s.lend != nil {
			shape = s.lend.shape.Clone()
		}
		h, err := view(pl.bufs[u].data, shape)
		if err != nil {
			return attend.Wrapf(err, "graph: Program: lending a buffer to %v", s.node)
		}
		if s.lend != nil {
			s.buf = h
		} else {
			s.add = h
		}
	}
	pl.ready = true
	return nil
}

// view is a tensor of the given shape over the first elements of d.
func view(d *tensor.Dense, shape tensor.Shape) (*tensor.Dense, error) {
	f, err := byDtype(d.Dtype(), viewOf[float64], viewOf[float32])
	if err != nil {
		return nil, err
	}
	return f(d, shape), nil
}

func viewOf[T num.Float](d *tensor.Dense, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data[T](d)[:shape.TotalSize()]))
}

// poison fills d with NaN (poisonBuffers).
func poison(d *tensor.Dense) {
	if f, err := byDtype(d.Dtype(), poisonOf[float64], poisonOf[float32]); err == nil {
		f(d)
	}
}

func poisonOf[T num.Float](d *tensor.Dense) {
	x := data[T](d)
	for i := range x {
		x[i] = T(math.NaN())
	}
}

// BufferBytes reports the output buffers the program lends its ops: arena is the bytes
// of its arena (allocated by the first Run), unshared what the same values would take
// with a buffer each, as without liveness sharing. Both count the outputs' buffers.
func (p *Program) BufferBytes() (arena, unshared int64) {
	if p.plan == nil {
		return 0, 0
	}
	return p.plan.bytes, p.plan.unshared
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
	if p.plan != nil && !p.plan.ready {
		if err := p.realize(); err != nil {
			return err
		}
	}
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
		case s.inPlace:
			var dst *tensor.Dense
			if dst, err = dense(s.args[0]); err == nil {
				v, err = s.sum(dst, s.args[0], s.args[1])
			}
		case s.sum != nil:
			if poisonBuffers && p.plan != nil {
				poison(s.add)
			}
			v, err = s.sum(s.add, s.args[0], s.args[1])
		case s.lend != nil:
			if poisonBuffers {
				poison(s.buf)
			}
			v, err = s.doLent()
			if err == nil && poisonBuffers && v != G.Value(s.buf) {
				err = errors.Errorf("the op returned %T %p, not the buffer lent to it", v, v)
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

// doLent runs a step's op with its buffer lent to it, taking the loan back after.
func (s *step) doLent() (G.Value, error) {
	s.lend.buf = s.buf
	defer s.unlend()
	return s.op.Do(s.args...)
}

func (s *step) unlend() { s.lend.buf = nil }

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

// Value returns the value n had in the last Run, for an output given to NewProgram, or a
// leaf's own value (also for a node the program does not compute). It is nil for an
// output before the first Run, and for every computed node that is not an output: its
// buffer went to later values (see Program). An output's value stays valid until the
// next Run of this program.
func (p *Program) Value(n *G.Node) G.Value {
	if i, ok := p.slot[n]; ok {
		if !p.output[i] {
			return nil
		}
		return p.vals[i]
	}
	return n.Value()
}

// Len is the number of ops the program runs.
func (p *Program) Len() int { return len(p.steps) }
