package layers

import (
	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// Linear is y = x·W + b, with W (In, Out) — the transpose of PyTorch's nn.Linear weight —
// and an optional bias b (Out).
type Linear struct {
	Name    string
	In, Out int
	W       *G.Node // name.weight, (In, Out)
	B       *G.Node // name.bias, (Out); nil without bias
}

// NewLinear adds a Linear layer's learnables to g. Weights default to PyTorch's
// U(−1/√in, 1/√in); the bias starts at zero.
func NewLinear(g *G.ExprGraph, name string, in, out int, bias bool, opts ...Option) (*Linear, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: Linear %q", name) }
	if g == nil {
		return nil, wrap(errors.Wrap(ErrConfig, "nil graph"))
	}
	if name == "" || in < 1 || out < 1 {
		return nil, wrap(errors.Wrapf(ErrConfig, "need a name and sizes ≥ 1, got in = %d, out = %d", in, out))
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, wrap(err)
	}
	l := &Linear{Name: name, In: in, Out: out}
	if l.W, err = o.learnable(g, name+".weight", o.weightInit(linearInit(in)), in, out); err != nil {
		return nil, wrap(err)
	}
	if bias {
		if l.B, err = o.learnable(g, name+".bias", Constant(0), out); err != nil {
			return nil, wrap(err)
		}
	}
	return l, nil
}

// Forward returns x·W + b for x of shape (N, In) or (B, T, In).
func (l *Linear) Forward(x *G.Node) (*G.Node, error) {
	if err := checkInput(x, "x", l.W.Dtype(), l.In); err != nil {
		return nil, attend.Wrapf(err, "layers: Linear %q", l.Name)
	}
	y, err := graph.Dense(x, l.W, l.B, false)
	return y, attend.Wrapf(err, "layers: Linear %q", l.Name)
}

// Learnables returns W, then B when there is a bias.
func (l *Linear) Learnables() G.Nodes {
	if l.B == nil {
		return G.Nodes{l.W}
	}
	return G.Nodes{l.W, l.B}
}
