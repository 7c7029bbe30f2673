package layers

import (
	"math"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// AttentionConfig is the architecture of a SelfAttention layer. Only DModel is required;
// every other zero value is a sensible default.
type AttentionConfig struct {
	DModel int // width of the input x (and of the output with OutProj)
	Heads  int // number of heads; 0 means 1. Must divide DKey and DValue.
	DKey   int // width of the Q and K projections; 0 means DModel
	DValue int // width of the V projection (the output without OutProj); 0 means DModel
	// Scale multiplies q·kᵀ; 0 means 1/√(DKey/Heads), the Transformer's choice.
	Scale float64
	// Causal blocks every query from attending to later positions (masked self-attention).
	Causal bool
	// Cross takes keys and values from a second input (Attend's Context) of width DCross.
	Cross  bool
	DCross int // width of the context for Cross; 0 means DModel
	// OutProj adds the output projection Wo (DValue, DModel).
	OutProj bool
	// Bias adds biases to the projections.
	Bias bool
}

// withDefaults fills in the zero values.
func (c AttentionConfig) withDefaults() AttentionConfig {
	if c.Heads == 0 {
		c.Heads = 1
	}
	if c.DKey == 0 {
		c.DKey = c.DModel
	}
	if c.DValue == 0 {
		c.DValue = c.DModel
	}
	if c.DCross == 0 {
		c.DCross = c.DModel
	}
	return c
}

// Validate reports a configuration that cannot be built.
func (c AttentionConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case c.DModel < 1:
		return errors.Wrapf(ErrConfig, "DModel = %d; want ≥ 1", c.DModel)
	case c.Heads < 0 || c.DKey < 0 || c.DValue < 0 || c.DCross < 0:
		return errors.Wrapf(ErrConfig, "negative size in %+v", c)
	case d.DKey%d.Heads != 0:
		return errors.Wrapf(ErrConfig, "DKey = %d is not divisible by %d heads", d.DKey, d.Heads)
	case d.DValue%d.Heads != 0:
		return errors.Wrapf(ErrConfig, "DValue = %d is not divisible by %d heads", d.DValue, d.Heads)
	case math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) || c.Scale < 0:
		return errors.Wrapf(ErrConfig, "Scale = %v; want a finite value ≥ 0 (0 = 1/√head width)", c.Scale)
	case c.DCross != 0 && !c.Cross:
		return errors.Wrapf(ErrConfig, "DCross = %d without Cross", c.DCross)
	}
	return nil
}

// SelfAttention is scaled dot-product attention with learnable projections:
//
//	q = x·Wq (+bq)   k = y·Wk (+bk)   v = y·Wv (+bv)     (y = x unless Cross)
//	weights = softmax(Scale · q_h·k_hᵀ, masked) per head h  (B, H, T_q, T_k)
//	out = concat_h(weights_h · v_h) (·Wo + bo)
//
// Inputs are (T, D) as in the seed example or batched (B, T, D). The learnables live in
// the caller's graph under dotted names (name.wq, name.wk, …) and are exported, so the
// caller can read, set, differentiate and optimise them.
type SelfAttention struct {
	Name   string
	Config AttentionConfig // with defaults filled in

	Wq, Wk, Wv *G.Node // (DModel, DKey), (DModel or DCross, DKey), (DModel or DCross, DValue)
	Wo         *G.Node // (DValue, DModel) with OutProj, else nil
	Bq, Bk, Bv *G.Node // (DKey), (DKey), (DValue) with Bias, else nil
	Bo         *G.Node // (DModel) with Bias and OutProj, else nil
}

// NewSelfAttention adds a SelfAttention layer's learnables to g. Weights default to
// PyTorch's nn.Linear initialisation U(−1/√in, 1/√in); biases start at zero.
func NewSelfAttention(g *G.ExprGraph, name string, cfg AttentionConfig, opts ...Option) (*SelfAttention, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: SelfAttention %q", name) }
	if g == nil || name == "" {
		return nil, wrap(errors.Wrap(ErrConfig, "need a graph and a name"))
	}
	if err := cfg.Validate(); err != nil {
		return nil, wrap(err)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, wrap(err)
	}
	c := cfg.withDefaults()
	a := &SelfAttention{Name: name, Config: c}
	kvIn := c.DModel
	if c.Cross {
		kvIn = c.DCross
	}
	type spec struct {
		dst      **G.Node
		suffix   string
		init     Init
		shape    []int
		wanted   bool
		isWeight bool
	}
	specs := []spec{
		{&a.Wq, ".wq", linearInit(c.DModel), []int{c.DModel, c.DKey}, true, true},
		{&a.Wk, ".wk", linearInit(kvIn), []int{kvIn, c.DKey}, true, true},
		{&a.Wv, ".wv", linearInit(kvIn), []int{kvIn, c.DValue}, true, true},
		{&a.Wo, ".wo", linearInit(c.DValue), []int{c.DValue, c.DModel}, c.OutProj, true},
		{&a.Bq, ".bq", Constant(0), []int{c.DKey}, c.Bias, false},
		{&a.Bk, ".bk", Constant(0), []int{c.DKey}, c.Bias, false},
		{&a.Bv, ".bv", Constant(0), []int{c.DValue}, c.Bias, false},
		{&a.Bo, ".bo", Constant(0), []int{c.DModel}, c.Bias && c.OutProj, false},
	}
	for _, s := range specs {
		if !s.wanted {
			continue
		}
		init := s.init
		if s.isWeight {
			init = o.weightInit(init)
		}
		if *s.dst, err = o.learnable(g, name+s.suffix, init, s.shape...); err != nil {
			return nil, wrap(err)
		}
	}
	return a, nil
}

// Learnables returns Wq, Wk, Wv, then Wo, then the biases bq, bk, bv, bo, skipping the
// ones the configuration leaves out.
func (a *SelfAttention) Learnables() G.Nodes {
	var ns G.Nodes
	for _, n := range []*G.Node{a.Wq, a.Wk, a.Wv, a.Wo, a.Bq, a.Bk, a.Bv, a.Bo} {
		if n != nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// Forward applies self-attention (causal if configured) to x and returns the output. A
// Cross layer needs its context: use Attend.
func (a *SelfAttention) Forward(x *G.Node) (*G.Node, error) {
	out, _, err := a.Attend(x, AttendInputs{})
	return out, err
}

// AttendInputs are the optional inputs of Attend.
type AttendInputs struct {
	// Context is y, the source of keys and values, for a Cross layer: (T_k, DCross) or
	// (B, T_k, DCross), with as many dims as x.
	Context *G.Node
	// Mask is a 0/1 input node, 1 = blocked (PyTorch's boolean attn_mask): (T_q, T_k) for
	// the whole batch or (B, T_q, T_k). See graph.NewMask and graph.SetMask.
	Mask *G.Node
	// KeyPadding is a 0/1 input node (B, T_k), 1 = padding key (B = 1 for 2-D inputs).
	KeyPadding *G.Node
	// Cache, when not nil, makes the layer decode incrementally: x holds the positions
	// after the Cache.Len() cached ones, whose keys and values the layer appends to the
	// cache's store CacheSlot (one per layer) and attends over with the cached ones (see
	// graph.AttentionOpts.Cache). Weights are then (B, H, T_q, Cache.Cap()). Not with
	// Cross, Mask or KeyPadding; no gradient.
	Cache     *graph.KVCache
	CacheSlot int
}

// Attend applies the layer to x, (T_q, DModel) or (B, T_q, DModel), and returns the
// output, shaped like x with DModel columns (DValue without OutProj), and the attention
// weights node (B, H, T_q, T_k), B = 1 for 2-D x (T_k = the cache's capacity with a
// Cache).
func (a *SelfAttention) Attend(x *G.Node, in AttendInputs) (out, weights *G.Node, err error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: SelfAttention %q", a.Name) }
	c := a.Config
	dt := a.Wq.Dtype()
	if err := checkInput(x, "x", dt, c.DModel); err != nil {
		return nil, nil, wrap(err)
	}
	y := x
	switch {
	case c.Cross && in.Context == nil:
		return nil, nil, wrap(errors.Wrap(graph.ErrArgument, "a Cross layer needs a Context"))
	case c.Cross:
		if err := checkInput(in.Context, "context", dt, c.DCross); err != nil {
			return nil, nil, wrap(err)
		}
		xs, ys := x.Shape(), in.Context.Shape()
		if xs.Dims() != ys.Dims() || (xs.Dims() == 3 && xs[0] != ys[0]) {
			return nil, nil, wrap(errors.Wrapf(graph.ErrShape, "x %v and context %v differ in batch", xs, ys))
		}
		y = in.Context
	case in.Context != nil:
		return nil, nil, wrap(errors.Wrap(graph.ErrArgument, "a Context was given to a layer without Cross"))
	}
	if c.Cross && in.Cache != nil {
		return nil, nil, wrap(errors.Wrap(graph.ErrArgument, "a Cross layer takes no Cache"))
	}
	q, err := graph.Dense(x, a.Wq, a.Bq, false) // (B, T_q, D) × (D, DKey) → (B, T_q, DKey)
	if err != nil {
		return nil, nil, wrap(err)
	}
	k, err := graph.Dense(y, a.Wk, a.Bk, false) // (B, T_k, D) × (D, DKey) → (B, T_k, DKey)
	if err != nil {
		return nil, nil, wrap(err)
	}
	v, err := graph.Dense(y, a.Wv, a.Bv, false) // (B, T_k, D) × (D, DValue) → (B, T_k, DValue)
	if err != nil {
		return nil, nil, wrap(err)
	}
	out, weights, err = graph.Attention(q, k, v, graph.AttentionOpts{
		Heads: c.Heads, Scale: c.Scale, Causal: c.Causal, Mask: in.Mask, KeyPadding: in.KeyPadding,
		Cache: in.Cache, CacheSlot: in.CacheSlot,
	}) // out (B, T_q, DValue), weights (B, H, T_q, T_k)
	if err != nil {
		return nil, nil, wrap(err)
	}
	if a.Wo != nil {
		if out, err = graph.Dense(out, a.Wo, a.Bo, false); err != nil { // (B, T_q, DValue) × (DValue, DModel)
			return nil, nil, wrap(err)
		}
	}
	return out, weights, nil
}
