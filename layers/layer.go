package layers

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Layer is a computation with learnables living in the caller's graph.
type Layer interface {
	// Forward applies the layer to x and returns the output node.
	Forward(x *G.Node) (*G.Node, error)
	// Learnables returns the layer's learnable nodes, always in the same order.
	Learnables() G.Nodes
}

// ErrConfig is attend.ErrArgument, wrapped by every error about a layer's
// configuration (the name it has always had here); attend.ErrShape and attend.ErrDtype
// are wrapped by errors about its inputs.
var ErrConfig = attend.ErrArgument

// Init fills a new learnable of the given shape, drawing from rng.
type Init func(rng *rand.Rand, shape tensor.Shape) []float64

// Normal draws each value from N(0, std²) (nanoGPT initialises its weights with 0.02).
func Normal(std float64) Init {
	return func(rng *rand.Rand, shape tensor.Shape) []float64 {
		v := make([]float64, shape.TotalSize())
		for i := range v {
			v[i] = rng.NormFloat64() * std
		}
		return v
	}
}

// Uniform draws each value from U(−bound, bound).
func Uniform(bound float64) Init {
	return func(rng *rand.Rand, shape tensor.Shape) []float64 {
		v := make([]float64, shape.TotalSize())
		for i := range v {
			v[i] = (2*rng.Float64() - 1) * bound
		}
		return v
	}
}

// Constant sets every value to c (zeros for biases, ones for LayerNorm gains).
func Constant(c float64) Init {
	return func(_ *rand.Rand, shape tensor.Shape) []float64 {
		v := make([]float64, shape.TotalSize())
		for i := range v {
			v[i] = c
		}
		return v
	}
}

// Option sets a cosmetic setting of a layer: dtype, seed, initialisation.
type Option func(*options)

type options struct {
	dtype tensor.Dtype
	seed  uint64
	init  Init // weights (rank ≥ 2); nil → the layer's default
	// share, when not nil, gives every learnable an existing tensor by name instead of
	// drawing values: a second graph over the same weights (a decoder's).
	share map[string]*tensor.Dense
}

// Share builds the learnables on the values of ns (matched by name, dtype and shape)
// instead of drawing new ones: a second graph over a model's weights, such as a
// decoder's, reads and trains the same tensors. A learnable with no match in ns is an
// error wrapping ErrConfig.
func Share(ns G.Nodes) Option {
	m := make(map[string]*tensor.Dense, len(ns))
	for _, n := range ns {
		if d, ok := n.Value().(*tensor.Dense); ok {
			m[n.Name()] = d
		}
	}
	return func(o *options) { o.share = m }
}

// WithDtype makes the layer's learnables tensor.Float32 (the default) or tensor.Float64.
func WithDtype(dt tensor.Dtype) Option { return func(o *options) { o.dtype = dt } }

// WithSeed sets the seed of the initialisation (default 0). Each learnable draws from its
// own stream, derived from the seed and its name, so layers built in any order get the
// same values.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// WithInit sets the initialisation of the layer's weight matrices. Biases start at zero
// and LayerNorm gains at one whatever this says.
func WithInit(init Init) Option { return func(o *options) { o.init = init } }

// Settings are the options a layer is built with, resolved: what a model made of
// layers (gpt.New) reads to build its own learnables as the layers do.
type Settings struct {
	Dtype tensor.Dtype // float32 (the default) or float64
	Seed  uint64
	Init  Init // the caller's weight init; nil when WithInit was not given
	// Shared is true under Share: the values are a model's own, not drawn.
	Shared bool
}

// Resolve applies opts and reports a dtype other than float32 or float64.
func Resolve(opts ...Option) (Settings, error) {
	o, err := newOptions(opts)
	return Settings{Dtype: o.dtype, Seed: o.seed, Init: o.init, Shared: o.share != nil}, err
}

// Reinit draws new values for the learnable n from init, from the stream of n's name
// and the seed of opts, as a layer built with opts draws them (nothing under Share).
// Models use it to give one weight of a layer another initialisation (nanoGPT's
// scaled residual projections).
func Reinit(n *G.Node, init Init, opts ...Option) error {
	o, err := newOptions(opts)
	if err != nil {
		return err
	}
	return o.reinit(n, init)
}

func newOptions(opts []Option) (options, error) {
	o := options{dtype: tensor.Float32}
	for _, f := range opts {
		f(&o)
	}
	if o.dtype != tensor.Float32 && o.dtype != tensor.Float64 {
		return o, errors.Wrapf(ErrConfig, "dtype %v; want float32 or float64", o.dtype)
	}
	return o, nil
}

// learnable adds a learnable node called name to g, filled by init (o.init, else def).
// Gorgonia returns the existing node for a second input of the same name, so a name that
// is already taken is an error.
func (o options) learnable(g *G.ExprGraph, name string, init Init, shape ...int) (*G.Node, error) {
	if len(g.ByName(name)) > 0 {
		return nil, attend.Wrap(errors.Wrapf(ErrConfig, "a node called %q is already in the graph", name), "layers")
	}
	if o.share != nil {
		v, ok := o.share[name]
		if !ok || v.Dtype() != o.dtype || !slices.Equal([]int(v.Shape()), shape) {
			return nil, attend.Wrap(errors.Wrapf(ErrConfig, "no %v value %v for %q to share", o.dtype, shape, name), "layers")
		}
		return G.NewTensor(g, o.dtype, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v)), nil
	}
	v := o.values(name, init, shape)
	return G.NewTensor(g, o.dtype, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v)), nil
}

// values draws a learnable's initial values from the stream of its name.
func (o options) values(name string, init Init, shape []int) *tensor.Dense {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(o.seed, h.Sum64()))
	return newValue(o.dtype, shape, init(rng, tensor.Shape(shape)))
}

// newValue is a tensor of dtype dt (float32 or float64, checked by newOptions) holding
// vals.
func newValue(dt tensor.Dtype, shape []int, vals []float64) *tensor.Dense {
	d, _ := num.Dense(dt, shape, vals)
	return d
}

// reinit draws new values for the learnable n from init.
func (o options) reinit(n *G.Node, init Init) error {
	if o.share != nil {
		return nil // the shared values are the model's own
	}
	return G.Let(n, o.values(n.Name(), init, n.Shape().Clone()))
}

// weightInit returns the caller's weight init or the default def.
func (o options) weightInit(def Init) Init {
	if o.init != nil {
		return o.init
	}
	return def
}

// linearInit is PyTorch's nn.Linear default: U(−1/√in, 1/√in).
func linearInit(in int) Init { return Uniform(1 / math.Sqrt(float64(in))) }

// checkInput checks that x is a float node of dtype dt with 2 or 3 dims whose last is
// width.
func checkInput(x *G.Node, what string, dt tensor.Dtype, width int) error {
	if x == nil {
		return errors.Wrapf(graph.ErrArgument, "%s is nil", what)
	}
	if x.Dtype() != dt {
		return errors.Wrapf(graph.ErrDtype, "%s %q has dtype %v; the layer is %v", what, x.Name(), x.Dtype(), dt)
	}
	s := x.Shape()
	if (s.Dims() != 2 && s.Dims() != 3) || s[s.Dims()-1] != width {
		return errors.Wrapf(graph.ErrShape, "%s %q is %v; want (T, %d) or (B, T, %d)", what, x.Name(), s, width, width)
	}
	return nil
}
