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

	// KVHeads is the number of key/value heads (grouped-query attention; 1 is
	// multi-query attention): Wk and Wv are (DModel or DCross, KVHeads·DKey/Heads) and
	// (…, KVHeads·DValue/Heads), and query head h reads key/value head
	// h / (Heads/KVHeads). 0 means Heads (plain multi-head attention). It must divide
	// Heads.
	KVHeads int
	// RoPE, when not nil, rotates each head of the queries and keys by their positions
	// (rotary position embedding, see graph.RoPE); the head width DKey/Heads must be even.
	// Positions are those of graph.FlashOpts: key j is at j and query i at
	// i + T_k − T_q (with a Cache, both after the cached positions).
	RoPE *RoPEConfig
	// ALiBi adds − m_h·|p_q − p_k| to the scores of head h, with the slopes m_h of
	// graph.ALiBiSlopes(Heads) (Press et al.). It has no learnables.
	ALiBi bool
	// Window, when ≥ 1, is a sliding window of graph.SlidingWindow(Window): a key is
	// blocked when |p_q − p_k| ≥ Window, so with Causal a query sees the Window most
	// recent keys, itself included (Mistral's sliding window), and without Causal the
	// Window − 1 keys on either side as well. 0 means no window.
	Window int
	// WindowLeft and WindowRight, when either is > 0, are a window of any shape instead
	// (graph.Window): the query at p sees the keys p − WindowLeft … p + WindowRight (and
	// Causal still blocks those after p). Both 0 means no window; not with Window.
	WindowLeft, WindowRight int
	// QKNorm normalises each head of the queries and keys (parameter-free RMSNorm over
	// the head's width, eps QKNormEps) before their scores, after RoPE, as nanochat does:
	// the scores of a head are then bounded by its width times the scale.
	QKNorm bool
}

// QKNormEps is the eps of QKNorm's RMSNorm (nanochat's F.rms_norm uses the dtype's
// machine epsilon; 1e-5 keeps float32 and float64 alike).
const QKNormEps = 1e-5

// RoPEConfig is the rotary position embedding of a SelfAttention (see graph.RoPE).
type RoPEConfig struct {
	// Theta is the base of the frequencies; 0 means 10000.
	Theta float64
	// Style is how a head's dimensions pair up: "interleaved" (or "") rotates
	// (2m, 2m+1) as Meta's Llama and RoFormer do, "half" rotates (m, m + d/2) as
	// GPT-NeoX and Hugging Face's rotate_half do.
	Style string
}

// style is the graph.RoPEStyle of Style.
func (r *RoPEConfig) style() (graph.RoPEStyle, error) {
	switch r.Style {
	case "", "interleaved":
		return graph.RoPEInterleaved, nil
	case "half":
		return graph.RoPEHalf, nil
	}
	return 0, errors.Wrapf(ErrConfig, "RoPE.Style = %q; want \"interleaved\" or \"half\"", r.Style)
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
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.RoPE != nil {
		r := *c.RoPE
		if r.Theta == 0 {
			r.Theta = 10000
		}
		if r.Style == "" {
			r.Style = "interleaved"
		}
		c.RoPE = &r
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
	case c.KVHeads < 0:
		return errors.Wrapf(ErrConfig, "KVHeads = %d; want ≥ 1 (0 = Heads)", c.KVHeads)
	case d.Heads%d.KVHeads != 0:
		return errors.Wrapf(ErrConfig, "KVHeads = %d does not divide %d heads", c.KVHeads, d.Heads)
	case c.Window < 0 || c.WindowLeft < 0 || c.WindowRight < 0:
		return errors.Wrapf(ErrConfig, "Window = %d, WindowLeft = %d, WindowRight = %d; want sizes ≥ 0 (0 = no window)", c.Window, c.WindowLeft, c.WindowRight)
	case c.Window > 0 && (c.WindowLeft > 0 || c.WindowRight > 0):
		return errors.Wrapf(ErrConfig, "Window = %d with WindowLeft = %d, WindowRight = %d; give one or the other", c.Window, c.WindowLeft, c.WindowRight)
	}
	if r := c.RoPE; r != nil {
		if _, err := r.style(); err != nil {
			return err
		}
		if math.IsNaN(r.Theta) || math.IsInf(r.Theta, 0) || r.Theta < 0 {
			return errors.Wrapf(ErrConfig, "RoPE.Theta = %v; want a finite value > 0 (0 = 10000)", r.Theta)
		}
		if w := d.DKey / d.Heads; w%2 != 0 {
			return errors.Wrapf(ErrConfig, "RoPE needs an even head width; DKey = %d over %d heads is %d", d.DKey, d.Heads, w)
		}
	}
	return nil
}

// window is the layer's graph.Window, nil for none.
func (c AttentionConfig) window() *graph.Window {
	switch {
	case c.Window > 0:
		return graph.SlidingWindow(c.Window)
	case c.WindowLeft > 0 || c.WindowRight > 0:
		return &graph.Window{Left: c.WindowLeft, Right: c.WindowRight}
	}
	return nil
}

// SelfAttention is scaled dot-product attention with learnable projections:
//
//	q = x·Wq (+bq)   k = y·Wk (+bk)   v = y·Wv (+bv)     (y = x unless Cross)
//	q, k rotated by RoPE when configured
//	weights = softmax(Scale · q_h·k_gᵀ (− ALiBi), masked) per head h  (B, H, T_q, T_k)
//	out = concat_h(weights_h · v_g) (·Wo + bo)        (g = h's key/value head)
//
// It runs on graph.FlashAttention: the (T_q × T_k) weights are never kept, in the
// forward pass or the backward one. Attend also returns a node of the weights
// (graph.FlashWeights) which is computed only by a program that asks for it.
//
// Inputs are (T, D) as in the seed example or batched (B, T, D). The learnables live in
// the caller's graph under dotted names (name.wq, name.wk, …) and are exported, so the
// caller can read, set, differentiate and optimise them.
type SelfAttention struct {
	Name   string
	Config AttentionConfig // with defaults filled in

	Wq, Wk, Wv *G.Node // (DModel, DKey), (DModel or DCross, KVHeads·DKey/Heads), (…, KVHeads·DValue/Heads)
	Wo         *G.Node // (DValue, DModel) with OutProj, else nil
	Bq, Bk, Bv *G.Node // (DKey), (KVHeads·DKey/Heads), (KVHeads·DValue/Heads) with Bias, else nil
	Bo         *G.Node // (DModel) with Bias and OutProj, else nil

	slopes []float64 // ALiBi's, nil without
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
	if c.ALiBi {
		if a.slopes, err = graph.ALiBiSlopes(c.Heads); err != nil {
			return nil, wrap(err)
		}
	}
	dk, dv := c.DKey/c.Heads*c.KVHeads, c.DValue/c.Heads*c.KVHeads // widths of k and v
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
		{&a.Wk, ".wk", linearInit(kvIn), []int{kvIn, dk}, true, true},
		{&a.Wv, ".wv", linearInit(kvIn), []int{kvIn, dv}, true, true},
		{&a.Wo, ".wo", linearInit(c.DValue), []int{c.DValue, c.DModel}, c.OutProj, true},
		{&a.Bq, ".bq", Constant(0), []int{c.DKey}, c.Bias, false},
		{&a.Bk, ".bk", Constant(0), []int{dk}, c.Bias, false},
		{&a.Bv, ".bv", Constant(0), []int{dv}, c.Bias, false},
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
// Cross layer needs its context: use Attend. It builds no weights node.
func (a *SelfAttention) Forward(x *G.Node) (*G.Node, error) {
	out, _, err := a.attend(x, AttendInputs{}, false)
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
	// graph.FlashOpts.Cache). Weights are then (B, H, T_q, Cache.Cap()). Not with
	// Cross, Mask or KeyPadding; no gradient.
	Cache     *graph.KVCache
	CacheSlot int
}

// Attend applies the layer to x, (T_q, DModel) or (B, T_q, DModel), and returns the
// output, shaped like x with DModel columns (DValue without OutProj), and the attention
// weights node (B, H, T_q, T_k), B = 1 for 2-D x (T_k = the cache's capacity with a
// Cache). The weights have no gradient and are computed only by a program (or
// machine) that runs them: training the output never builds a (T_q × T_k) matrix.
func (a *SelfAttention) Attend(x *G.Node, in AttendInputs) (out, weights *G.Node, err error) {
	return a.attend(x, in, true)
}

// attend is Attend, building the weights node only when withWeights.
func (a *SelfAttention) attend(x *G.Node, in AttendInputs, withWeights bool) (out, weights *G.Node, err error) {
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
	k, err := graph.Dense(y, a.Wk, a.Bk, false) // (B, T_k, D) × (D, KVHeads·DKey/Heads)
	if err != nil {
		return nil, nil, wrap(err)
	}
	v, err := graph.Dense(y, a.Wv, a.Bv, false) // (B, T_k, D) × (D, KVHeads·DValue/Heads)
	if err != nil {
		return nil, nil, wrap(err)
	}
	if r := c.RoPE; r != nil {
		// Positions as FlashAttention's: keys from 0, queries the last T_q of them
		// (with a Cache, both after the cached positions, read when the graph runs).
		style, err := r.style()
		if err != nil {
			return nil, nil, wrap(err)
		}
		_, tq, _ := seqShape(x)
		_, tk, _ := seqShape(y)
		ro := graph.RoPEOpts{HeadDim: c.DKey / c.Heads, Theta: r.Theta, Style: style, Cache: in.Cache}
		if in.Cache == nil {
			ro.Offset = tk - tq
		}
		if q, err = graph.RoPE(q, ro); err != nil {
			return nil, nil, wrap(err)
		}
		ro.Offset = 0
		if k, err = graph.RoPE(k, ro); err != nil {
			return nil, nil, wrap(err)
		}
	}
	if c.QKNorm {
		if q, err = headNorm(q, c.Heads); err != nil {
			return nil, nil, wrap(err)
		}
		if k, err = headNorm(k, c.KVHeads); err != nil {
			return nil, nil, wrap(err)
		}
	}
	fo := graph.FlashOpts{
		Heads: c.Heads, Scale: c.Scale, Causal: c.Causal, Window: c.window(), ALiBi: a.slopes,
		Mask: in.Mask, KeyPadding: in.KeyPadding, Cache: in.Cache, CacheSlot: in.CacheSlot,
	}
	if out, err = graph.FlashAttention(q, k, v, fo); err != nil { // (B, T_q, DValue)
		return nil, nil, wrap(err)
	}
	if withWeights {
		if weights, err = graph.FlashWeights(q, k, fo); err != nil { // (B, H, T_q, T_k), run only when asked for
			return nil, nil, wrap(err)
		}
	}
	if a.Wo != nil {
		if out, err = graph.Dense(out, a.Wo, a.Bo, false); err != nil { // (B, T_q, DValue) × (DValue, DModel)
			return nil, nil, wrap(err)
		}
	}
	return out, weights, nil
}

// seqShape reads (B, T, C) off a (T, C) or (B, T, C) node.
func seqShape(n *G.Node) (b, t, c int) {
	s := n.Shape()
	if s.Dims() == 2 {
		return 1, s[0], s[1]
	}
	return s[0], s[1], s[2]
}

// headNorm is the parameter-free RMSNorm of each of the heads column blocks of x
// (…, heads·d): x viewed as (…, heads, d), normalised over d, viewed back.
func headNorm(x *G.Node, heads int) (*G.Node, error) {
	s := x.Shape()
	split := append(s[:s.Dims()-1].Clone(), heads, s[s.Dims()-1]/heads)
	r, err := G.Reshape(x, split)
	if err != nil {
		return nil, errors.Wrapf(attend.ErrShape, "QKNorm: %v as %v: %v", s, split, err)
	}
	if r, err = graph.RMSNorm(r, nil, QKNormEps); err != nil {
		return nil, err
	}
	y, err := G.Reshape(r, s.Clone())
	if err != nil {
		return nil, errors.Wrapf(attend.ErrShape, "QKNorm: %v back to %v: %v", split, s, err)
	}
	return y, nil
}
