package train

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

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
	cfg  AdamWConfig
	step int
	m, v []*tensor.Dense
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
	if o.m != nil && len(o.m) != len(params) {
		return errors.Errorf("train: AdamW step %d: state holds %d parameters, got %d (the parameter list must stay the same)", t, len(o.m), len(params))
	}
	ps := make([]flat, len(params))
	gs := make([]flat, len(params))
	for i, p := range params {
		pv, gv, err := valueAndGrad(p)
		if err == nil && o.m != nil {
			err = sameLayout("first moment", flatDense(o.m[i]), pv)
		}
		if err != nil {
			return errors.Wrapf(err, "train: AdamW step %d: parameter %d%s", t, i, paramName(p))
		}
		ps[i], gs[i] = pv, gv
	}
	if o.m == nil {
		o.m = make([]*tensor.Dense, len(params))
		o.v = make([]*tensor.Dense, len(params))
		for i, p := range ps {
			o.m[i] = zerosLike(p)
			o.v[i] = zerosLike(p)
		}
	}

	c := o.cfg
	k := adamwCoef{
		beta1:    c.Beta1,
		beta2:    c.Beta2,
		stepSize: lr / (1 - math.Pow(c.Beta1, float64(t))),
		bc2Sqrt:  math.Sqrt(1 - math.Pow(c.Beta2, float64(t))),
		eps:      c.Eps,
	}
	for i, p := range ps {
		k.decay = 1.0
		if len(p.shape) >= 2 && c.WeightDecay != 0 {
			k.decay = 1 - lr*c.WeightDecay
		}
		m, v := flatDense(o.m[i]), flatDense(o.v[i])
		if p.f32 != nil {
			adamwUpdate(k, p.f32, gs[i].f32, m.f32, v.f32)
		} else {
			adamwUpdate(k, p.f64, gs[i].f64, m.f64, v.f64)
		}
	}
	o.step = t
	return nil
}

// State returns a deep copy of the optimizer state, for checkpoints.
func (o *AdamW) State() AdamWState {
	s := AdamWState{Step: o.step}
	if o.m != nil {
		s.M = make([]*tensor.Dense, len(o.m))
		s.V = make([]*tensor.Dense, len(o.v))
		for i := range o.m {
			s.M[i] = cloneFlat(flatDense(o.m[i]))
			s.V[i] = cloneFlat(flatDense(o.v[i]))
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
		o.step, o.m, o.v = 0, nil, nil
		return nil
	}
	m := make([]*tensor.Dense, len(s.M))
	v := make([]*tensor.Dense, len(s.V))
	for i := range s.M {
		fm, err := flatOf(denseValue(s.M[i]))
		if err == nil {
			var fv flat
			fv, err = flatOf(denseValue(s.V[i]))
			if err == nil {
				err = sameLayout("second moment", fv, fm)
			}
			if err == nil {
				err = checkMoments(fm, fv)
			}
			m[i], v[i] = cloneFlat(fm), cloneFlat(fv)
		}
		if err != nil {
			return errors.Wrapf(err, "train: AdamW SetState: parameter %d", i)
		}
	}
	o.step, o.m, o.v = s.Step, m, v
	return nil
}

type adamwCoef struct {
	decay, beta1, beta2, stepSize, bc2Sqrt, eps float64
}

func adamwUpdate[T float32 | float64](k adamwCoef, p, g, m, v []T) {
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

func checkMoments(m, v flat) error {
	if m.f32 != nil {
		return checkMomentSlices(m.f32, v.f32)
	}
	return checkMomentSlices(m.f64, v.f64)
}

func checkMomentSlices[T float32 | float64](m, v []T) error {
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

// flat is a float32 or float64 value seen as its backing slice (exactly one of
// f32, f64 is non-nil, possibly empty), so updates happen in place.
type flat struct {
	f32   []float32
	f64   []float64
	shape tensor.Shape
	dtype tensor.Dtype
}

func (f flat) len() int {
	if f.f32 != nil {
		return len(f.f32)
	}
	return len(f.f64)
}

// flatOf views v as a flat slice. It accepts contiguous float32/float64
// *tensor.Dense values and Gorgonia's scalar *F32/*F64 values.
func flatOf(v gorgonia.Value) (flat, error) {
	switch x := v.(type) {
	case nil:
		return flat{}, errors.New("value is nil")
	case *tensor.Dense:
		if x == nil {
			return flat{}, errors.New("value is nil")
		}
		if x.Size() > 0 && x.RequiresIterator() { // tensor flags empty tensors
			return flat{}, errors.New("value is a non-contiguous view")
		}
		f := flat{shape: x.Shape(), dtype: x.Dtype()} // read only: may be the tensor's own slice
		switch x.Dtype() {
		case tensor.Float32:
			f.f32 = x.Float32s()
			if f.f32 == nil {
				f.f32 = []float32{}
			}
		case tensor.Float64:
			f.f64 = x.Float64s()
			if f.f64 == nil {
				f.f64 = []float64{}
			}
		default:
			return flat{}, errors.Errorf("dtype %v not supported (want float32 or float64)", x.Dtype())
		}
		if f.len() != x.Size() {
			return flat{}, errors.Errorf("backing array holds %d elements for shape %v", f.len(), f.shape)
		}
		return f, nil
	case *gorgonia.F64:
		if x == nil {
			return flat{}, errors.New("value is nil")
		}
		return flat{f64: unsafe.Slice((*float64)(x), 1), shape: tensor.ScalarShape(), dtype: tensor.Float64}, nil
	case *gorgonia.F32:
		if x == nil {
			return flat{}, errors.New("value is nil")
		}
		return flat{f32: unsafe.Slice((*float32)(x), 1), shape: tensor.ScalarShape(), dtype: tensor.Float32}, nil
	}
	return flat{}, errors.Errorf("value of type %T not supported (want a float32 or float64 *tensor.Dense)", v)
}

// flatDense views a tensor this package created (always valid).
func flatDense(d *tensor.Dense) flat {
	f, _ := flatOf(d)
	return f
}

// denseValue avoids turning a nil *tensor.Dense into a non-nil interface.
func denseValue(d *tensor.Dense) gorgonia.Value {
	if d == nil {
		return nil
	}
	return d
}

// sameLayout reports an error unless got has want's dtype and shape.
func sameLayout(what string, got, want flat) error {
	if got.dtype != want.dtype {
		return errors.Errorf("%s has dtype %v, want %v", what, got.dtype, want.dtype)
	}
	// Not Shape.Eq: it treats (2) and (1, 2) as equal.
	if !slices.Equal(got.shape, want.shape) || got.len() != want.len() {
		return errors.Errorf("%s has shape %v, want %v", what, got.shape, want.shape)
	}
	return nil
}

// valueAndGrad returns a parameter's value and gradient, checked to agree.
func valueAndGrad(p gorgonia.ValueGrad) (value, grad flat, err error) {
	if isNilParam(p) {
		return flat{}, flat{}, errors.New("parameter is nil")
	}
	if value, err = flatOf(p.Value()); err != nil {
		return flat{}, flat{}, err
	}
	g, err := p.Grad()
	if err != nil {
		return flat{}, flat{}, errors.Wrap(err, "no gradient")
	}
	if grad, err = flatOf(g); err != nil {
		return flat{}, flat{}, errors.Wrap(err, "gradient")
	}
	if err = sameLayout("gradient", grad, value); err != nil {
		return flat{}, flat{}, err
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

func zerosLike(f flat) *tensor.Dense {
	shape := f.shape.Clone()
	if f.f32 != nil {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, len(f.f32))))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float64, len(f.f64))))
}

func cloneFlat(f flat) *tensor.Dense {
	shape := f.shape.Clone()
	if f.f32 != nil {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32{}, f.f32...)))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64{}, f.f64...)))
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
