package layers

import (
	"math"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// RMSNorm normalises over the last axis by the root mean square, with a learned gain or
// none: y = x / √(mean(x²) + eps) · gain, as Llama's RMSNorm (with a gain) and
// nanochat's parameter-free norm (without).
type RMSNorm struct {
	Name  string
	Width int
	Gain  *G.Node // name.weight, (Width), starts at 1; nil without a gain
	// Eps is 1e-5 (Llama 2 and 3's norm_eps); set it before Forward to change it
	// (nanochat's F.rms_norm uses the float type's machine epsilon, 1.19e-7 in float32).
	Eps   float64
	dtype tensor.Dtype
}

// NewRMSNorm adds an RMSNorm to g: its learnable name.weight when gain is true, nothing
// otherwise (WithDtype still sets the dtype its input must have).
func NewRMSNorm(g *G.ExprGraph, name string, width int, gain bool, opts ...Option) (*RMSNorm, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: RMSNorm %q", name) }
	if g == nil || name == "" || width < 1 {
		return nil, wrap(errors.Wrapf(ErrConfig, "need a graph, a name and a width ≥ 1, got %d", width))
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, wrap(err)
	}
	l := &RMSNorm{Name: name, Width: width, Eps: 1e-5, dtype: o.dtype}
	if gain {
		if l.Gain, err = o.learnable(g, name+".weight", Constant(1), width); err != nil {
			return nil, wrap(err)
		}
	}
	return l, nil
}

// Forward normalises x (T, Width) or (B, T, Width).
func (l *RMSNorm) Forward(x *G.Node) (*G.Node, error) {
	if err := checkInput(x, "x", l.dtype, l.Width); err != nil {
		return nil, attend.Wrapf(err, "layers: RMSNorm %q", l.Name)
	}
	if !(l.Eps > 0) || math.IsInf(l.Eps, 0) {
		return nil, attend.Wrapf(errors.Wrapf(ErrConfig, "eps = %v; want finite and > 0", l.Eps), "layers: RMSNorm %q", l.Name)
	}
	y, err := graph.RMSNorm(x, l.Gain, l.Eps)
	return y, attend.Wrapf(err, "layers: RMSNorm %q", l.Name)
}

// Learnables returns the gain, or nothing without one.
func (l *RMSNorm) Learnables() G.Nodes {
	if l.Gain == nil {
		return G.Nodes{}
	}
	return G.Nodes{l.Gain}
}
