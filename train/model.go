package train

import (
	"math"

	"github.com/attend-go/attend"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Model is what a Trainer trains: a model with a loss for a batch of integer inputs and
// targets (token ids and next tokens, or any ids and class labels), its gradients, and
// an evaluation pass. GraphModel makes one from a Gorgonia graph; gpt.LM is one.
//
// A batch is BatchLen() inputs x and as many targets y, row-major; a target below zero
// is not scored.
type Model interface {
	// Learnables returns the weights, in a fixed order, under unique names (checkpoints
	// store them by name).
	Learnables() G.Nodes
	// ValueGrads returns the same weights with the gradients of the last Backward.
	ValueGrads() []G.ValueGrad
	// BatchLen is the number of inputs (and of targets) in one batch.
	BatchLen() int
	// Backward runs the training forward and backward pass of optimiser step step
	// (0-based; models whose dropout masks follow the step use it) on a batch and returns
	// its loss.
	Backward(step int, x, y []int) (loss float64, err error)
	// Evaluate runs the forward pass without training behaviour (no dropout) and returns
	// the loss and how many of the total scored targets the top prediction gets right.
	Evaluate(x, y []int) (loss float64, correct, total int, err error)
}

// GraphModel is a Model over a graph the caller built: integer input and target nodes,
// a scalar loss, and optionally the logits whose last axis scores the classes (for
// accuracy). It compiles two graph.Programs, one for the loss and its gradients and one
// for the forward pass only.
type GraphModel struct {
	params       G.Nodes
	x, y         *tensor.Dense
	loss, logits *G.Node
	trainP       *graph.Program
	evalP        *graph.Program
	vgs          []G.ValueGrad
	classes      int
	countCorrect func(logits G.Value, y []int, classes int) (correct, total int, err error)
	// SetTraining, if set, is called with true before Backward's pass and false after
	// it (a model with dropout switches it there).
	SetTraining func(on bool)
	// SetStep, if set, is called with the optimiser step before Backward's pass.
	SetStep func(step int)
}

// GraphSpec names the nodes of a graph a GraphModel trains.
type GraphSpec struct {
	Inputs, Targets *G.Node // int tensors of one shape, with *tensor.Dense values
	Loss            *G.Node // a scalar
	Logits          *G.Node // optional: (…, classes), one row per target, for accuracy
	Params          G.Nodes // the learnables, in the order of checkpoints
}

// NewGraphModel differentiates s.Loss with respect to s.Params and compiles the passes.
func NewGraphModel(s GraphSpec) (*GraphModel, error) {
	m, err := newGraphModel(s)
	return m, attend.Wrap(err, "train: NewGraphModel")
}

func newGraphModel(s GraphSpec) (*GraphModel, error) {
	if s.Inputs == nil || s.Targets == nil || s.Loss == nil || len(s.Params) == 0 {
		return nil, errors.Wrap(attend.ErrArgument, "inputs, targets, loss and learnables are all required")
	}
	m := &GraphModel{params: s.Params, loss: s.Loss, logits: s.Logits}
	for _, in := range []struct {
		n   *G.Node
		dst **tensor.Dense
	}{{s.Inputs, &m.x}, {s.Targets, &m.y}} {
		d, ok := in.n.Value().(*tensor.Dense)
		if !ok || d.Dtype() != tensor.Int {
			return nil, errors.Wrapf(attend.ErrArgument, "%q must be an int tensor node with a value", in.n.Name())
		}
		*in.dst = d
	}
	if m.x.Shape().TotalSize() != m.y.Shape().TotalSize() {
		return nil, errors.Wrapf(attend.ErrShape, "inputs %v and targets %v differ in size", m.x.Shape(), m.y.Shape())
	}
	var err error
	if m.countCorrect, err = num.ByDtype(s.Params[0].Dtype(), countCorrectValue[float64], countCorrectValue[float32]); err != nil {
		return nil, err
	}
	if s.Logits != nil {
		sh := s.Logits.Shape()
		m.classes = sh[len(sh)-1]
		if sh.TotalSize() != m.classes*m.y.Shape().TotalSize() {
			return nil, errors.Wrapf(attend.ErrShape, "logits %v do not give one row per target of %v", sh, m.y.Shape())
		}
	}
	grads, err := G.Grad(s.Loss, s.Params...)
	if err != nil {
		return nil, errors.Wrap(err, "gradients")
	}
	if m.trainP, err = graph.NewProgram(append(G.Nodes{s.Loss}, grads...)...); err != nil {
		return nil, err
	}
	outs := G.Nodes{s.Loss}
	if s.Logits != nil {
		outs = append(outs, s.Logits)
	}
	if m.evalP, err = graph.NewProgram(outs...); err != nil {
		return nil, err
	}
	for i, p := range s.Params {
		m.vgs = append(m.vgs, paramGrad{param: p, grad: grads[i], prog: m.trainP})
	}
	return m, nil
}

// Learnables returns the learnables GraphSpec named.
func (m *GraphModel) Learnables() G.Nodes { return m.params }

// ValueGrads returns the learnables with their gradients, for an optimiser or clipping.
func (m *GraphModel) ValueGrads() []G.ValueGrad { return m.vgs }

// BatchLen is the size of the inputs node.
func (m *GraphModel) BatchLen() int { return m.x.Shape().TotalSize() }

func (m *GraphModel) setBatch(x, y []int) error {
	if n := m.BatchLen(); len(x) != n || len(y) != n {
		return errors.Wrapf(attend.ErrShape, "a batch of %d inputs and %d targets; want %d of each", len(x), len(y), n)
	}
	copy(num.View[int](m.x), x)
	copy(num.View[int](m.y), y)
	return nil
}

// Backward runs the loss and its gradients on a batch; ValueGrads then hold them.
func (m *GraphModel) Backward(step int, x, y []int) (float64, error) {
	if err := m.setBatch(x, y); err != nil {
		return 0, errors.Wrap(err, "train: Backward")
	}
	if m.SetStep != nil {
		m.SetStep(step)
	}
	if m.SetTraining != nil {
		m.SetTraining(true)
		defer m.SetTraining(false)
	}
	if err := m.trainP.Run(); err != nil {
		return 0, errors.Wrap(err, "train: forward/backward")
	}
	return scalarOf(m.trainP.Value(m.loss))
}

// Evaluate runs the forward pass on a batch: the loss, and the scored targets (y ≥ 0)
// whose logits row peaks at the target, out of total (0 of 0 without logits).
func (m *GraphModel) Evaluate(x, y []int) (loss float64, correct, total int, err error) {
	if err := m.setBatch(x, y); err != nil {
		return 0, 0, 0, errors.Wrap(err, "train: Evaluate")
	}
	if err := m.evalP.Run(); err != nil {
		return 0, 0, 0, errors.Wrap(err, "train: evaluation")
	}
	if loss, err = scalarOf(m.evalP.Value(m.loss)); err != nil {
		return 0, 0, 0, err
	}
	if m.logits == nil {
		return loss, 0, 0, nil
	}
	// read in place: no copy per batch
	if correct, total, err = m.countCorrect(m.evalP.Value(m.logits), y, m.classes); err != nil {
		return 0, 0, 0, errors.Wrap(err, "train: evaluation logits")
	}
	return loss, correct, total, nil
}

// paramGrad is a learnable with the gradient the training program computed for it.
type paramGrad struct {
	param, grad *G.Node
	prog        *graph.Program
}

func (p paramGrad) Value() G.Value { return p.param.Value() }

func (p paramGrad) Grad() (G.Value, error) {
	if v := p.prog.Value(p.grad); v != nil {
		return v, nil
	}
	return nil, errors.Errorf("train: no gradient for %q yet", p.param.Name())
}

// scalarOf reads a loss value (a one-element float32 or float64 value).
func scalarOf(v G.Value) (float64, error) {
	f, err := num.Float64s(v)
	if err != nil || len(f) != 1 {
		return math.NaN(), errors.Errorf("train: loss is %T, not a scalar", v)
	}
	return f[0], nil
}

// countCorrectValue is countCorrect on a logits value of element type T, read in place.
func countCorrectValue[T num.Float](logits G.Value, y []int, v int) (correct, total int, err error) {
	s, err := num.Slice[T](logits)
	if err != nil {
		return 0, 0, err
	}
	if len(s) < len(y)*v {
		return 0, 0, errors.Errorf("%d logits for %d targets over %d classes", len(s), len(y), v)
	}
	for i, t := range y {
		if t < 0 {
			continue
		}
		total++
		if argmax(s[i*v:(i+1)*v]) == t {
			correct++
		}
	}
	return correct, total, nil
}

func argmax[T num.Float](x []T) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
