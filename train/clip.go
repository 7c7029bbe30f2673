package train

import (
	"math"
	"sync"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/par"
	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
)

// ErrNonFinite is matched (with errors.Is) by the error ClipGradNorm returns
// when the gradients contain NaN or ±Inf or their norm overflows.
var ErrNonFinite = attend.Kind(attend.ErrData, "non-finite gradient norm")

// clipEps is PyTorch's guard against dividing by a zero norm.
const clipEps = 1e-6

// ClipGradNorm rescales gradients in place so that their global L2 norm (all
// gradients seen as one vector) is at most maxNorm, like
// torch.nn.utils.clip_grad_norm_ with error_if_nonfinite=True: with
// coef = maxNorm/(norm + 1e-6), every gradient is multiplied by coef when
// coef < 1. It returns the norm before clipping, summed in float64 for both
// dtypes (rescaled when squares would overflow float64).
//
// maxNorm ≤ 0 (or +Inf) disables clipping; the norm is still computed and
// checked. If the norm is not finite, nothing is changed and the error wraps
// ErrNonFinite and names the first offending parameter; the returned norm is
// then NaN or +Inf. Gradients are read like AdamW.Step reads them.
func ClipGradNorm(params []gorgonia.ValueGrad, maxNorm float64) (norm float64, err error) {
	if math.IsNaN(maxNorm) {
		return 0, errors.New("train: ClipGradNorm: maxNorm is NaN")
	}
	c := clipRuns.Get().(*clipRun)
	defer c.release()
	c.reset(len(params))
	grads := c.grads
	for i, p := range params {
		k, err := kindOfParam(p)
		if err == nil {
			grads[i], err = k.grad(p)
		}
		if err != nil {
			return 0, errors.Wrapf(err, "train: ClipGradNorm: parameter %d%s", i, paramName(p))
		}
	}

	// Each gradient's sum of squares on its own (over the cores), added in order: the
	// same float64 sum as one loop over the gradients.
	par.Run(len(grads), len(grads), c)
	var sum float64
	for _, s := range c.sums {
		sum += s
	}
	norm = math.Sqrt(sum)
	if !isFinite(norm) {
		// Either a NaN/Inf element, or finite float64 elements whose squares
		// overflow: tell them apart, and rescale in the second case.
		maxAbs := 0.0
		for i, g := range grads {
			m, ok := g.maxAbsFinite()
			if !ok {
				return math.NaN(), errors.Wrapf(ErrNonFinite, "train: ClipGradNorm: parameter %d%s has a NaN or Inf gradient", i, paramName(params[i]))
			}
			maxAbs = math.Max(maxAbs, m)
		}
		inv, scaled := 1/maxAbs, 0.0
		for _, g := range grads {
			scaled += g.sumSquaresScaled(inv)
		}
		if norm = maxAbs * math.Sqrt(scaled); !isFinite(norm) {
			return norm, errors.Wrapf(ErrNonFinite, "train: ClipGradNorm: gradient norm overflows float64")
		}
	}

	if maxNorm <= 0 {
		return norm, nil
	}
	if coef := maxNorm / (norm + clipEps); coef < 1 {
		c.scaling, c.coef = true, coef
		par.Run(len(grads), len(grads), c)
	}
	return norm, nil
}

// clipRun is ClipGradNorm's parallel loop over the gradients (a par.Body): it sets
// sums[i] to gradient i's sum of squares, or with scaling multiplies gradient i by coef.
type clipRun struct {
	grads   []gradient
	sums    []float64
	scaling bool
	coef    float64
}

// clipRuns keeps clipRun records between calls, so that a training step's clipping
// allocates nothing for them.
var clipRuns = sync.Pool{New: func() any { return new(clipRun) }}

// reset makes c ready for n gradients.
func (c *clipRun) reset(n int) {
	if cap(c.grads) < n {
		c.grads, c.sums = make([]gradient, n), make([]float64, n)
	}
	c.grads, c.sums = c.grads[:n], c.sums[:n]
	c.scaling, c.coef = false, 0
}

// release drops c's references to the gradients and puts it back in clipRuns.
func (c *clipRun) release() {
	clear(c.grads)
	clipRuns.Put(c)
}

func (c *clipRun) Do(i int) {
	if !c.scaling {
		c.sums[i] = c.grads[i].sumSquares()
		return
	}
	c.grads[i].scale(c.coef)
}

// gradient is one parameter's gradient with the clipping kernels of its element type
// (chosen by elemKind.grad). The sums are in float64 for both types.
type gradient interface {
	sumSquares() float64
	sumSquaresScaled(inv float64) float64
	maxAbsFinite() (float64, bool) // the largest |element|; false if any is NaN or Inf
	scale(coef float64)
}

type gradOf[T num.Float] []T

func (kind[T]) grad(p gorgonia.ValueGrad) (gradient, error) {
	_, g, err := valueAndGrad[T](p)
	return gradOf[T](g.s), err
}

func (g gradOf[T]) sumSquares() float64 {
	var s float64
	for _, x := range g {
		s += float64(x) * float64(x)
	}
	return s
}

func (g gradOf[T]) sumSquaresScaled(inv float64) float64 {
	var s float64
	for _, x := range g {
		y := float64(x) * inv
		s += y * y
	}
	return s
}

func (g gradOf[T]) maxAbsFinite() (float64, bool) {
	m := 0.0
	for _, x := range g {
		a := math.Abs(float64(x))
		if !isFinite(a) {
			return 0, false
		}
		m = math.Max(m, a)
	}
	return m, true
}

func (g gradOf[T]) scale(coef float64) {
	for i, x := range g {
		g[i] = T(float64(x) * coef)
	}
}
