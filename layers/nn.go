package layers

import (
	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// Embedding maps integer ids to learned rows of a table (Num, Width).
type Embedding struct {
	Name       string
	Num, Width int
	W          *G.Node // name.weight, (Num, Width)
}

// NewEmbedding adds an embedding table to g, initialised N(0, 1) as PyTorch's
// nn.Embedding unless WithInit says otherwise.
func NewEmbedding(g *G.ExprGraph, name string, num, width int, opts ...Option) (*Embedding, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: Embedding %q", name) }
	if g == nil || name == "" || num < 1 || width < 1 {
		return nil, wrap(errors.Wrapf(ErrConfig, "need a graph, a name and sizes ≥ 1, got %d × %d", num, width))
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, wrap(err)
	}
	e := &Embedding{Name: name, Num: num, Width: width}
	e.W, err = o.learnable(g, name+".weight", o.weightInit(Normal(1)), num, width)
	return e, wrap(err)
}

// Forward looks up ids, an int node (N) or (B, T), giving (N, Width) or (B, T, Width).
func (e *Embedding) Forward(ids *G.Node) (*G.Node, error) {
	y, err := graph.Embed(e.W, ids)
	return y, attend.Wrapf(err, "layers: Embedding %q", e.Name)
}

// AddPositions adds the first T rows of the table to x (B, T, Width) or (T, Width): the
// table used as a learned position embedding.
func (e *Embedding) AddPositions(x *G.Node) (*G.Node, error) {
	y, err := graph.AddPositions(x, e.W)
	return y, attend.Wrapf(err, "layers: Embedding %q", e.Name)
}

// AddPositionsAt is AddPositions for decoding: x holds the positions after the cache's
// Len() cached ones, so the rows from Len on are added (read when the graph runs).
func (e *Embedding) AddPositionsAt(x *G.Node, c *graph.KVCache) (*G.Node, error) {
	y, err := graph.AddPositionsAt(x, e.W, c)
	return y, attend.Wrapf(err, "layers: Embedding %q", e.Name)
}

// Learnables returns the table.
func (e *Embedding) Learnables() G.Nodes { return G.Nodes{e.W} }

// LayerNorm normalises over the last axis with a learned gain (and bias), eps 1e-5, as
// PyTorch's nn.LayerNorm.
type LayerNorm struct {
	Name  string
	Width int
	Gain  *G.Node // name.weight, (Width), starts at 1
	Bias  *G.Node // name.bias, (Width), starts at 0; nil without bias
	Eps   float64
}

// NewLayerNorm adds a LayerNorm's learnables to g.
func NewLayerNorm(g *G.ExprGraph, name string, width int, bias bool, opts ...Option) (*LayerNorm, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: LayerNorm %q", name) }
	if g == nil || name == "" || width < 1 {
		return nil, wrap(errors.Wrapf(ErrConfig, "need a graph, a name and a width ≥ 1, got %d", width))
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, wrap(err)
	}
	l := &LayerNorm{Name: name, Width: width, Eps: 1e-5}
	if l.Gain, err = o.learnable(g, name+".weight", Constant(1), width); err != nil {
		return nil, wrap(err)
	}
	if bias {
		if l.Bias, err = o.learnable(g, name+".bias", Constant(0), width); err != nil {
			return nil, wrap(err)
		}
	}
	return l, nil
}

// Forward normalises x (…, Width).
func (l *LayerNorm) Forward(x *G.Node) (*G.Node, error) {
	if err := checkInput(x, "x", l.Gain.Dtype(), l.Width); err != nil {
		return nil, attend.Wrapf(err, "layers: LayerNorm %q", l.Name)
	}
	y, err := graph.LayerNorm(x, l.Gain, l.Bias, l.Eps)
	return y, attend.Wrapf(err, "layers: LayerNorm %q", l.Name)
}

// Learnables returns the gain, then the bias if any.
func (l *LayerNorm) Learnables() G.Nodes {
	if l.Bias == nil {
		return G.Nodes{l.Gain}
	}
	return G.Nodes{l.Gain, l.Bias}
}
