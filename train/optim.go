package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/par"
	"github.com/attend-go/attend/internal/vec"
	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AdamWConfig holds the hyper-parameters of AdamW.
//
// Every field is taken literally: a zero field means zero, never "use the
// default", because β1 = 0 and WeightDecay = 0 are meaningful settings. The
// zero AdamWConfig is therefore rejected by NewAdamW (Eps must be > 0); start
// from DefaultAdamW and change what you need.
type AdamWConfig struct {
	// LR is the peak learning rate. Step does not read it: it takes the
	// current rate as an argument so a schedule can vary it. It lives here so
	// one value describes (and validates, and checkpoints) the whole setup.
	LR float64 `json:"lr"`
	// Beta1 and Beta2 are the decay rates of the first and second moment
	// estimates, each in [0, 1).
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Eps is added to the denominator for numerical stability; must be > 0
	// (PyTorch allows 0, which turns a zero gradient into NaN).
	Eps float64 `json:"eps"`
	// WeightDecay is the decoupled decay coefficient (≥ 0), applied only to
	// parameters of rank ≥ 2 (matrices and embeddings, as nanoGPT's parameter
	// groups do); vectors and scalars (biases, LayerNorm gains) never decay.
	WeightDecay float64 `json:"weight_decay"`
}

// DefaultAdamW returns PyTorch's torch.optim.AdamW defaults: LR 1e-3,
// Beta1 0.9, Beta2 0.999, Eps 1e-8, WeightDecay 0.01.
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Validate reports whether every field is in range.
func (c AdamWConfig) Validate() error {
	switch {
	case !isFinite(c.LR) || c.LR < 0:
		return errors.Errorf("train: AdamW: LR %v must be finite and ≥ 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return errors.Errorf("train: AdamW: Beta1 %v must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return errors.Errorf("train: AdamW: Beta2 %v must be in [0, 1)", c.Beta2)
	case !isFinite(c.Eps) || c.Eps <= 0:
		return errors.Errorf("train: AdamW: Eps %v must be finite and > 0 (DefaultAdamW uses 1e-8)", c.Eps)
	case !isFinite(c.WeightDecay) || c.WeightDecay < 0:
		return errors.Errorf("train: AdamW: WeightDecay %v must be finite and ≥ 0", c.WeightDecay)
	}
	return nil
}

// AdamW is torch.optim.AdamW (amsgrad off) working in place on Gorgonia
// parameters. Gorgonia's own AdamW solver never changes the weights; this one
// does, and it zeroes the gradients after each step because Gorgonia adds
// gradients up across runs.
//
// State is kept per parameter by position: pass the parameters in the same
// order at every Step (for example a model's Learnables()). A change in count,
// shape or dtype is reported as an error rather than silently mixing moments.
// An AdamW is not safe for concurrent use.
type AdamW struct {
	cfg   AdamWConfig
	step  int
	slots []adamwSlot // one per parameter, nil before the first step
	run   adamwRun    // the parallel update loop's body, kept to allocate nothing
}

// adamwRun updates parameter i with the step's coefficients (a par.Body: the
// parameters are updated in parallel, each by one goroutine, so the result does not
// depend on the split).
type adamwRun struct {
	slots       []adamwSlot
	k           adamwCoef
	weightDecay float64 // lr × weight decay, for parameters of rank ≥ 2
}

func (r *adamwRun) Do(i int) {
	s, k := r.slots[i], r.k
	k.decay = 1.0
	if s.rank() >= 2 && r.weightDecay != 0 {
		k.decay = 1 - r.weightDecay
	}
	s.update(k)
}

// AdamWState is the part of an AdamW that a checkpoint must keep: the number
// of steps taken and the first (M) and second (V) moment estimates, where
// M[i] and V[i] belong to the i-th parameter passed to Step and have its shape
// and dtype. Before the first step Step is 0 and M, V are empty.
type AdamWState struct {
	Step int
	M, V []*tensor.Dense
}

// NewAdamW returns an AdamW with the given configuration, or an error if it is
// out of range (see AdamWConfig.Validate).
func NewAdamW(cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AdamW{cfg: cfg}, nil
}

// Config returns the configuration the optimizer was built with.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Steps returns the number of completed steps.
func (o *AdamW) Steps() int { return o.step }

// Step applies one AdamW update with learning rate lr to every parameter,
// in place, and then sets every gradient to zero. For step t (1-based), with
// decay only on rank ≥ 2 parameters, it computes exactly what PyTorch does:
//
//	p ← p·(1 − lr·wd)
//	m ← m + (1−β1)(g − m)            (torch lerp, = β1·m + (1−β1)·g)
//	v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps)
//
// Float32 parameters keep float32 moments; each element's arithmetic is done
// in float64 and rounded once when stored.
//
// Everything is checked before anything changes: a missing gradient, a value
// that is not a contiguous float32/float64 *tensor.Dense, or a dtype or shape
// differing between a parameter, its gradient and its stored moments is an
// error naming the parameter and the step, and leaves all values, gradients
// and state untouched.
func (o *AdamW) Step(params []gorgonia.ValueGrad, lr float64) error {
	t := o.step + 1
	if !isFinite(lr) || lr < 0 {
		return errors.Errorf("train: AdamW step %d: learning rate %v must be finite and ≥ 0", t, lr)
	}
	if len(params) == 0 {
		return errors.Errorf("train: AdamW step %d: no parameters", t)
	}
	if o.slots != nil && len(o.slots) != len(params) {
		return errors.Errorf("train: AdamW step %d: state holds %d parameters, got %d (the parameter list must stay the same)", t, len(o.slots), len(params))
	}
	slots := o.slots
	if slots == nil { // the first step: each parameter's dtype picks its kernel, once
		slots = make([]adamwSlot, len(params))
	}
	for i, p := range params {
		var err error
		if slots[i] == nil {
			var k elemKind
			if k, err = kindOfParam(p); err == nil {
				slots[i] = k.newSlot(p.Value().Shape())
			}
		}
		if err == nil {
			err = slots[i].load(p)
		}
		if err != nil {
			for _, s := range slots[:i] {
				if s != nil {
					s.unload()
				}
			}
			return errors.Wrapf(err, "train: AdamW step %d: parameter %d%s", t, i, paramName(p))
		}
	}
	o.slots = slots

	c := o.cfg
	k := adamwCoef{
		beta1:    c.Beta1,
		beta2:    c.Beta2,
		stepSize: lr / (1 - math.Pow(c.Beta1, float64(t))),
		bc2Sqrt:  math.Sqrt(1 - math.Pow(c.Beta2, float64(t))),
		eps:      c.Eps,
	}
	o.run = adamwRun{slots: slots, k: k, weightDecay: lr * c.WeightDecay}
	par.Run(len(slots), len(slots), &o.run)
	o.run.slots = nil
	o.step = t
	return nil
}

// State returns a deep copy of the optimizer state, for checkpoints.
func (o *AdamW) State() AdamWState {
	s := AdamWState{Step: o.step}
	if o.slots != nil {
		s.M = make([]*tensor.Dense, len(o.slots))
		s.V = make([]*tensor.Dense, len(o.slots))
		for i, sl := range o.slots {
			s.M[i], s.V[i] = sl.moments()
		}
	}
	return s
}

// SetState replaces the optimizer state with a deep copy of s, typically one
// saved by State. It checks that s is consistent (Step ≥ 0; moments present
// exactly when Step > 0; M[i] and V[i] of equal shape and a float dtype; M
// finite; V finite and ≥ 0). Whether the moments fit the parameters is checked
// by the next Step. On error the current state is kept.
func (o *AdamW) SetState(s AdamWState) error {
	switch {
	case s.Step < 0:
		return errors.Errorf("train: AdamW SetState: step %d is negative", s.Step)
	case len(s.M) != len(s.V):
		return errors.Errorf("train: AdamW SetState: %d first moments but %d second moments", len(s.M), len(s.V))
	case s.Step == 0 && len(s.M) != 0:
		return errors.Errorf("train: AdamW SetState: step 0 with %d moments (expected none before the first step)", len(s.M))
	case s.Step > 0 && len(s.M) == 0:
		return errors.Errorf("train: AdamW SetState: step %d without moments", s.Step)
	}
	if s.Step == 0 {
		o.step, o.slots = 0, nil
		return nil
	}
	slots := make([]adamwSlot, len(s.M))
	for i := range s.M {
		k, err := kindOf(denseValue(s.M[i]))
		if err == nil {
			slots[i], err = k.slotFrom(s.M[i], s.V[i])
		}
		if err != nil {
			return errors.Wrapf(err, "train: AdamW SetState: parameter %d", i)
		}
	}
	o.step, o.slots = s.Step, slots
	return nil
}

type adamwCoef struct {
	decay, beta1, beta2, stepSize, bc2Sqrt, eps float64
}

// adamwSlot is the AdamW state of one parameter, its element type fixed when it
// was made (elemKind.newSlot or slotFrom). load views a parameter's value and
// gradient, checked against the moments, without changing anything; update applies
// one step to what load viewed (and forgets it); unload forgets it without a step.
type adamwSlot interface {
	load(p gorgonia.ValueGrad) error
	update(k adamwCoef)
	unload()
	rank() int
	moments() (m, v *tensor.Dense) // deep copies
}

type slotOf[T num.Float] struct {
	m, v   floatsOf[T] // owned
	pv, gv floatsOf[T] // the loaded parameter's value and gradient
}

func (s *slotOf[T]) load(p gorgonia.ValueGrad) error {
	pv, gv, err := valueAndGrad[T](p)
	if err == nil {
		err = sameShape("first moment", s.m, pv)
	}
	if err != nil {
		return err
	}
	s.pv, s.gv = pv, gv
	return nil
}

func (s *slotOf[T]) update(k adamwCoef) {
	adamwUpdate(k, s.pv.s, s.gv.s, s.m.s, s.v.s)
	s.unload()
}

func (s *slotOf[T]) unload()   { s.pv, s.gv = floatsOf[T]{}, floatsOf[T]{} }
func (s *slotOf[T]) rank() int { return len(s.m.shape) }

func (s *slotOf[T]) moments() (m, v *tensor.Dense) { return s.m.dense(), s.v.dense() }

func adamwUpdate[T num.Float](k adamwCoef, p, g, m, v []T) {
	if p, ok := any(p).([]float32); ok { // the same arithmetic, 8 lanes at a time
		vec.AdamWF32(p, any(g).([]float32), any(m).([]float32), any(v).([]float32),
			vec.AdamW{Decay: k.decay, Beta1: k.beta1, Beta2: k.beta2, StepSize: k.stepSize, Bc2Sqrt: k.bc2Sqrt, Eps: k.eps})
		return
	}
	w := 1 - k.beta1 // torch: exp_avg.lerp_(grad, 1 - beta1)
	for i := range p {
		gi := float64(g[i])
		pi := float64(p[i]) * k.decay
		mi := float64(m[i])
		if w < 0.5 {
			mi += w * (gi - mi)
		} else {
			mi = gi - (gi-mi)*(1-w)
		}
		vi := float64(v[i])*k.beta2 + (1-k.beta2)*(gi*gi)
		denom := math.Sqrt(vi)/k.bc2Sqrt + k.eps
		pi -= k.stepSize * (mi / denom)
		p[i], m[i], v[i], g[i] = T(pi), T(mi), T(vi), 0
	}
}

func checkMoments[T num.Float](m, v []T) error {
	for j := range m {
		if !isFinite(float64(m[j])) {
			return errors.Errorf("first moment element %d is %v", j, m[j])
		}
		if x := float64(v[j]); !isFinite(x) || x < 0 {
			return errors.Errorf("second moment element %d is %v (must be finite and ≥ 0)", j, v[j])
		}
	}
	return nil
}

// elemKind holds this file's kernels for one element type; kindOf picks it from a
// value's dtype, once per parameter: when AdamW makes its state, or when
// ClipGradNorm reads a gradient.
type elemKind interface {
	newSlot(shape tensor.Shape) adamwSlot
	slotFrom(m, v *tensor.Dense) (adamwSlot, error)
	grad(p gorgonia.ValueGrad) (gradient, error)
}

type kind[T num.Float] struct{}

func kindOf(v gorgonia.Value) (elemKind, error) {
	dt, err := dtypeOfValue(v)
	if err != nil {
		return nil, err
	}
	k, err := num.ByDtype[elemKind](dt, kind[float64]{}, kind[float32]{})
	if err != nil {
		return nil, errors.Errorf("dtype %v not supported (want float32 or float64)", dt)
	}
	return k, nil
}

// kindOfParam is kindOf the parameter's value.
func kindOfParam(p gorgonia.ValueGrad) (elemKind, error) {
	if isNilParam(p) {
		return nil, errors.New("parameter is nil")
	}
	return kindOf(p.Value())
}

func (kind[T]) newSlot(shape tensor.Shape) adamwSlot {
	n := shape.TotalSize()
	return &slotOf[T]{
		m: floatsOf[T]{make([]T, n), shape.Clone()},
		v: floatsOf[T]{make([]T, n), shape.Clone()},
	}
}

func (kind[T]) slotFrom(m, v *tensor.Dense) (adamwSlot, error) {
	fm, err := floatsOfValue[T]("first moment", m)
	if err != nil {
		return nil, err
	}
	fv, err := floatsOfValue[T]("second moment", denseValue(v))
	if err == nil {
		err = sameShape("second moment", fv, fm)
	}
	if err == nil {
		err = checkMoments(fm.s, fv.s)
	}
	if err != nil {
		return nil, err
	}
	return &slotOf[T]{m: fm.clone(), v: fv.clone()}, nil
}

// floatsOf is a float value of element type T seen as its backing slice, so
// updates happen in place.
type floatsOf[T num.Float] struct {
	s     []T
	shape tensor.Shape
}

// floatsOfValue views v, which must be a contiguous *tensor.Dense or a Gorgonia
// scalar of element type T; what names v in the errors.
func floatsOfValue[T num.Float](what string, v gorgonia.Value) (floatsOf[T], error) {
	dt, err := dtypeOfValue(v)
	if err != nil {
		return floatsOf[T]{}, errors.Wrap(err, what)
	}
	if want := num.DtypeOf[T](); dt != want {
		return floatsOf[T]{}, errors.Errorf("%s has dtype %v, want %v", what, dt, want)
	}
	s, err := num.Slice[T](v)
	if err != nil {
		return floatsOf[T]{}, errors.Wrap(err, what)
	}
	if s == nil {
		s = []T{}
	}
	return floatsOf[T]{s, v.Shape()}, nil
}

func (f floatsOf[T]) clone() floatsOf[T] {
	return floatsOf[T]{append([]T{}, f.s...), f.shape.Clone()}
}

// dense returns a copy of f as a tensor.
func (f floatsOf[T]) dense() *tensor.Dense {
	c := f.clone()
	return tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(c.s))
}

// dtypeOfValue is v's dtype, or an error for a nil value.
func dtypeOfValue(v gorgonia.Value) (tensor.Dtype, error) {
	switch x := v.(type) {
	case nil:
		return tensor.Dtype{}, errors.New("value is nil")
	case *tensor.Dense:
		if x == nil {
			return tensor.Dtype{}, errors.New("value is nil")
		}
	case *gorgonia.F32:
		if x == nil {
			return tensor.Dtype{}, errors.New("value is nil")
		}
	case *gorgonia.F64:
		if x == nil {
			return tensor.Dtype{}, errors.New("value is nil")
		}
	}
	return v.Dtype(), nil
}

// denseValue avoids turning a nil *tensor.Dense into a non-nil interface.
func denseValue(d *tensor.Dense) gorgonia.Value {
	if d == nil {
		return nil
	}
	return d
}

// sameShape reports an error unless got has want's shape.
func sameShape[T num.Float](what string, got, want floatsOf[T]) error {
	// Not Shape.Eq: it treats (2) and (1, 2) as equal.
	if !slices.Equal(got.shape, want.shape) || len(got.s) != len(want.s) {
		return errors.Errorf("%s has shape %v, want %v", what, got.shape, want.shape)
	}
	return nil
}

// valueAndGrad returns a parameter's value and gradient of element type T, checked
// to agree.
func valueAndGrad[T num.Float](p gorgonia.ValueGrad) (value, grad floatsOf[T], err error) {
	if isNilParam(p) {
		return value, grad, errors.New("parameter is nil")
	}
	if value, err = floatsOfValue[T]("value", p.Value()); err != nil {
		return floatsOf[T]{}, floatsOf[T]{}, err
	}
	g, err := p.Grad()
	if err != nil {
		return floatsOf[T]{}, floatsOf[T]{}, errors.Wrap(err, "no gradient")
	}
	if grad, err = floatsOfValue[T]("gradient", g); err != nil {
		return floatsOf[T]{}, floatsOf[T]{}, err
	}
	if err = sameShape("gradient", grad, value); err != nil {
		return floatsOf[T]{}, floatsOf[T]{}, err
	}
	return value, grad, nil
}

// paramName returns ` ("name")` for named parameters such as *gorgonia.Node.
func paramName(p gorgonia.ValueGrad) string {
	if isNilParam(p) {
		return ""
	}
	if n, ok := p.(gorgonia.Namer); ok {
		if name := n.Name(); name != "" {
			return fmt.Sprintf(" (%q)", name)
		}
	}
	return ""
}

func isNilParam(p gorgonia.ValueGrad) bool {
	n, ok := p.(*gorgonia.Node)
	return p == nil || (ok && n == nil)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
