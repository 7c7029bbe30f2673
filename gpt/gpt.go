package gpt

import (
	"fmt"
	"math"
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Config is the architecture of a GPT. Vocab, BlockSize and Width are required; the
// zero values of the rest are nanoGPT's GPT-2 architecture with one layer, one head,
// untied, no biases, no dropout. The other fields choose the parts modern decoders use
// (Llama: RMSNorm, RoPE, SwiGLU, grouped-query attention; nanochat: parameter-free
// RMSNorm, RoPE, QK-norm, ReLU², sliding-window layers); every option runs in the one
// forward pass, for training, evaluation and cached decoding alike.
type Config struct {
	Vocab     int     `json:"vocab"`      // vocabulary size
	BlockSize int     `json:"block_size"` // longest context the model sees (rows of the position table)
	Layers    int     `json:"n_layer"`    // Transformer blocks; 0 means 1
	Heads     int     `json:"n_head"`     // attention heads per block; 0 means 1; must divide Width
	Width     int     `json:"n_embd"`     // model width
	Tied      bool    `json:"tied"`       // share the token embedding with the output head (nanoGPT does)
	Bias      bool    `json:"bias"`       // biases in the layers.Linear and layers.LayerNorm layers
	Dropout   float64 `json:"dropout"`    // dropout on the embeddings and on each residual branch, in [0, 1)
	// NoAttention removes every attention sub-layer (an ablation: each position then
	// sees only its own token and position).
	NoAttention bool `json:"no_attention"`

	// Norm is the normalisation before each sub-layer and before the head: NormLayer
	// ("": LayerNorm with a gain, and a bias with Bias; nanoGPT's), NormRMS (RMSNorm with
	// a gain; Llama's) or NormRMSNoGain (parameter-free RMSNorm; nanochat's). Eps 1e-5.
	Norm string `json:"norm,omitempty"`
	// Pos is how positions enter: PosLearned ("": a learned table added to the token
	// embeddings), PosRoPE (rotary embedding of each head's queries and keys), PosALiBi
	// (a linear bias on the scores, the ALiBi paper's slopes per head) or PosNone.
	Pos string `json:"pos,omitempty"`
	// RoPETheta is RoPE's base θ; 0 means 10000.
	RoPETheta float64 `json:"rope_theta,omitempty"`
	// RoPEStyle pairs the channels RoPE rotates: "interleaved" ("": (2m, 2m+1), Meta's
	// Llama) or "half" ((m, m+d/2), GPT-NeoX, Hugging Face, nanochat).
	RoPEStyle string `json:"rope_style,omitempty"`
	// MLP is the feed-forward block: layers.ActGELU ("": fc, GELU, proj), ActSwiGLU
	// (proj(silu(x·gate) ∘ x·up), Llama's) or ActReLU2 (fc, relu², proj, nanochat's).
	MLP string `json:"mlp,omitempty"`
	// MLPHidden is the MLP's hidden width; 0 means 4·Width, and for SwiGLU Llama's
	// ⌊8·Width/3⌋ rounded up to a multiple of 32 (layers.LlamaHidden).
	MLPHidden int `json:"mlp_hidden,omitempty"`
	// KVHeads is the number of key/value heads (grouped-query attention; 1 is
	// multi-query); 0 means Heads. It must divide Heads.
	KVHeads int `json:"kv_heads,omitempty"`
	// QKNorm normalises each head's queries and keys (parameter-free RMSNorm, after
	// RoPE) before their scores, as nanochat does.
	QKNorm bool `json:"qk_norm,omitempty"`
	// Windows is the layers' attention windows as a pattern of S (short) and L (long)
	// tiled over the layers; when it has an L the last layer is always long (nanochat's
	// "SSSL"), and "S" windows every layer (Mistral's sliding window); "" makes every
	// layer long (the whole context).
	Windows string `json:"windows,omitempty"`
	// ShortWindow is how many keys a query of an S layer sees, itself included; 0 means
	// ⌈BlockSize/4⌉ (nanochat's quarter of the context, without its rounding up to its
	// GPU kernel's 128-key tiles).
	ShortWindow int `json:"short_window,omitempty"`
	// SoftCap caps the logits smoothly at ±SoftCap: c·tanh(z/c); 0 means none.
	SoftCap float64 `json:"soft_cap,omitempty"`
}

// The values of Config.Norm and Config.Pos.
const (
	NormLayer     = "layernorm"
	NormRMS       = "rmsnorm"
	NormRMSNoGain = "rmsnorm-nogain"
	PosLearned    = "learned"
	PosRoPE       = "rope"
	PosALiBi      = "alibi"
	PosNone       = "none"
)

// SwiGLUMultiple is the multiple a SwiGLU hidden width is rounded up to by default.
const SwiGLUMultiple = 32

func (c Config) withDefaults() Config {
	if c.Layers == 0 {
		c.Layers = 1
	}
	if c.Heads == 0 {
		c.Heads = 1
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Norm == "" {
		c.Norm = NormLayer
	}
	if c.Pos == "" {
		c.Pos = PosLearned
	}
	if c.MLP == "" {
		c.MLP = layers.ActGELU
	}
	if c.Pos == PosRoPE && c.RoPETheta == 0 {
		c.RoPETheta = 10000
	}
	if c.Pos == PosRoPE && c.RoPEStyle == "" {
		c.RoPEStyle = "interleaved"
	}
	if c.MLPHidden == 0 {
		c.MLPHidden = 4 * c.Width
		if c.MLP == layers.ActSwiGLU {
			c.MLPHidden = layers.LlamaHidden(c.Width, SwiGLUMultiple)
		}
	}
	if c.Windows != "" && c.ShortWindow == 0 {
		c.ShortWindow = (c.BlockSize + 3) / 4
	}
	return c
}

// Window returns the attention window of block l: how many keys a query sees, itself
// included; 0 means the whole context.
func (c Config) Window(l int) int {
	d := c.withDefaults()
	if d.Windows == "" || (l == d.Layers-1 && strings.ContainsAny(d.Windows, "Ll")) {
		return 0 // no pattern, or the last layer of a pattern with long layers
	}
	p := strings.ToUpper(d.Windows)
	if p[l%len(p)] == 'S' {
		return d.ShortWindow
	}
	return 0
}

// isNanoGPT reports whether c is nanoGPT's architecture (InitLikeNanoGPT's).
func (c Config) isNanoGPT() bool {
	d := c.withDefaults()
	return d.Norm == NormLayer && d.Pos == PosLearned && d.MLP == layers.ActGELU && d.MLPHidden == 4*d.Width &&
		d.KVHeads == d.Heads && !d.QKNorm && d.Windows == "" && d.SoftCap == 0
}

// Validate reports a configuration that cannot be built, naming the field.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case c.Vocab < 1:
		return errors.Wrapf(attend.ErrArgument, "Vocab = %d; want ≥ 1", c.Vocab)
	case c.BlockSize < 1:
		return errors.Wrapf(attend.ErrArgument, "BlockSize = %d; want ≥ 1", c.BlockSize)
	case c.Width < 1:
		return errors.Wrapf(attend.ErrArgument, "Width = %d; want ≥ 1", c.Width)
	case c.Layers < 0:
		return errors.Wrapf(attend.ErrArgument, "Layers = %d; want ≥ 1", c.Layers)
	case c.Heads < 0:
		return errors.Wrapf(attend.ErrArgument, "Heads = %d; want ≥ 1", c.Heads)
	case c.Width%d.Heads != 0:
		return errors.Wrapf(attend.ErrArgument, "Width = %d is not divisible by %d heads", c.Width, d.Heads)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return errors.Wrapf(attend.ErrArgument, "Dropout = %v; want [0, 1)", c.Dropout)
	case d.Norm != NormLayer && d.Norm != NormRMS && d.Norm != NormRMSNoGain:
		return errors.Wrapf(attend.ErrArgument, "Norm = %q; want %q, %q or %q", c.Norm, NormLayer, NormRMS, NormRMSNoGain)
	case d.Pos != PosLearned && d.Pos != PosRoPE && d.Pos != PosALiBi && d.Pos != PosNone:
		return errors.Wrapf(attend.ErrArgument, "Pos = %q; want %q, %q, %q or %q", c.Pos, PosLearned, PosRoPE, PosALiBi, PosNone)
	case (d.Pos == PosRoPE || d.Pos == PosALiBi) && c.NoAttention:
		return errors.Wrapf(attend.ErrArgument, "Pos = %q needs attention (NoAttention is set)", c.Pos)
	case c.RoPETheta < 0 || math.IsNaN(c.RoPETheta) || math.IsInf(c.RoPETheta, 0) || (c.RoPETheta != 0 && d.Pos != PosRoPE):
		return errors.Wrapf(attend.ErrArgument, "RoPETheta = %v; want a finite value > 0 with Pos %q", c.RoPETheta, PosRoPE)
	case c.RoPEStyle != "" && (d.Pos != PosRoPE || (c.RoPEStyle != "interleaved" && c.RoPEStyle != "half")):
		return errors.Wrapf(attend.ErrArgument, "RoPEStyle = %q; want \"interleaved\" or \"half\" with Pos %q", c.RoPEStyle, PosRoPE)
	case d.Pos == PosRoPE && (c.Width/d.Heads)%2 != 0:
		return errors.Wrapf(attend.ErrArgument, "RoPE needs an even head width; Width %d / %d heads = %d", c.Width, d.Heads, c.Width/d.Heads)
	case d.MLP != layers.ActGELU && d.MLP != layers.ActSwiGLU && d.MLP != layers.ActReLU2:
		return errors.Wrapf(attend.ErrArgument, "MLP = %q; want %q, %q or %q", c.MLP, layers.ActGELU, layers.ActSwiGLU, layers.ActReLU2)
	case c.MLPHidden < 0:
		return errors.Wrapf(attend.ErrArgument, "MLPHidden = %d; want ≥ 1 (0 for the default)", c.MLPHidden)
	case c.KVHeads < 0 || d.Heads%d.KVHeads != 0:
		return errors.Wrapf(attend.ErrArgument, "KVHeads = %d does not divide %d heads", c.KVHeads, d.Heads)
	case strings.Trim(strings.ToUpper(c.Windows), "SL") != "":
		return errors.Wrapf(attend.ErrArgument, "Windows = %q; want a pattern of S and L", c.Windows)
	case c.ShortWindow < 0 || (c.ShortWindow != 0 && c.Windows == ""):
		return errors.Wrapf(attend.ErrArgument, "ShortWindow = %d; want ≥ 1, with a Windows pattern", c.ShortWindow)
	case c.SoftCap < 0 || math.IsNaN(c.SoftCap) || math.IsInf(c.SoftCap, 0):
		return errors.Wrapf(attend.ErrArgument, "SoftCap = %v; want a finite value ≥ 0", c.SoftCap)
	case (c.QKNorm || c.Windows != "" || d.KVHeads != d.Heads) && c.NoAttention:
		return errors.Wrap(attend.ErrArgument, "KVHeads, QKNorm and Windows need attention (NoAttention is set)")
	}
	return nil
}

// Block is a pre-norm Transformer block:
//
//	x = x + Attn(LN1(x))     (causal multi-head self-attention with output projection)
//	x = x + MLP(LN2(x))
//
// LN1, LN2 and the model's LNF are *layers.LayerNorm or *layers.RMSNorm (Config.Norm).
type Block struct {
	Name     string
	LN1      layers.Layer          // name.ln_1; nil with Config.NoAttention
	Attn     *layers.SelfAttention // name.attn; nil with Config.NoAttention
	LN2      layers.Layer          // name.ln_2
	MLP      *layers.MLP           // name.mlp
	dropout  float64
	seed     uint64
	dropMode *graph.DropoutMode
}

// Forward applies the block to x (B, T, Width).
func (b *Block) Forward(x *G.Node) (*G.Node, error) {
	y, _, err := b.Apply(x)
	return y, err
}

// Apply applies the block to x (B, T, Width) and also returns its attention weights
// (B, H, T, T), nil without attention.
func (b *Block) Apply(x *G.Node) (y, weights *G.Node, err error) {
	return b.apply(x, layers.AttendInputs{})
}

// ApplyCached is Apply for decoding: x holds the positions after the cache's, and the
// attention keeps its keys and values in the cache's store slot (see
// SelfAttention.Attend). The weights are (B, H, T, cache capacity).
func (b *Block) ApplyCached(x *G.Node, c *graph.KVCache, slot int) (y, weights *G.Node, err error) {
	if c == nil {
		return nil, nil, errors.Wrapf(graph.ErrArgument, "gpt: Block %q: nil cache", b.Name)
	}
	return b.apply(x, layers.AttendInputs{Cache: c, CacheSlot: slot})
}

func (b *Block) apply(x *G.Node, in layers.AttendInputs) (y, weights *G.Node, err error) {
	wrap := func(err error) error { return attend.Wrapf(err, "gpt: Block %q", b.Name) }
	if b.Attn != nil {
		h, err := b.LN1.Forward(x)
		if err != nil {
			return nil, nil, wrap(err)
		}
		if h, weights, err = b.Attn.Attend(h, in); err != nil { // (B, T, C) → (B, T, C)
			return nil, nil, wrap(err)
		}
		if h, err = b.drop(h, 1); err != nil {
			return nil, nil, wrap(err)
		}
		if x, err = graph.Add(x, h); err != nil { // residual
			return nil, nil, wrap(err)
		}
	}
	h, err := b.LN2.Forward(x)
	if err != nil {
		return nil, nil, wrap(err)
	}
	if h, err = b.MLP.Forward(h); err != nil {
		return nil, nil, wrap(err)
	}
	if h, err = b.drop(h, 2); err != nil {
		return nil, nil, wrap(err)
	}
	if y, err = graph.Add(x, h); err != nil { // residual
		return nil, nil, wrap(err)
	}
	return y, weights, nil
}

func (b *Block) drop(x *G.Node, site uint64) (*G.Node, error) {
	if b.dropout == 0 {
		return x, nil
	}
	return graph.Dropout(x, b.dropout, b.seed*4+site, b.dropMode)
}

// Learnables returns LN1's, Attn's, LN2's and MLP's, in that order.
func (b *Block) Learnables() G.Nodes {
	var ns G.Nodes
	if b.Attn != nil {
		ns = append(ns, b.LN1.Learnables()...)
		ns = append(ns, b.Attn.Learnables()...)
	}
	ns = append(ns, b.LN2.Learnables()...)
	return append(ns, b.MLP.Learnables()...)
}

// Model is a decoder-only Transformer as in nanoGPT: token and learned position
// embeddings, Layers pre-LayerNorm blocks of causal self-attention and MLP, a final
// LayerNorm and a linear head to the vocabulary (tied to the token embedding if Tied) —
// or, with Config's options, a Llama- or nanochat-shaped decoder.
type Model struct {
	Config Config // with defaults filled in
	WTE    *layers.Embedding
	WPE    *layers.Embedding // nil unless Config.Pos is PosLearned
	Blocks []*Block
	LNF    layers.Layer   // ln_f
	Head   *layers.Linear // lm_head; nil when Tied
	mode   graph.DropoutMode
	seed   uint64
}

// New adds a GPT's learnables to g, initialised as nanoGPT does: N(0, 0.02) for every
// weight and embedding, N(0, 0.02/√(2·Layers)) for the projections into the residual
// stream (attn.wo, mlp.proj), zero biases, unit LayerNorm gains. WithSeed and WithDtype
// apply; WithInit replaces the N(0, 0.02).
func New(g *G.ExprGraph, cfg Config, opts ...layers.Option) (*Model, error) {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: New") }
	if g == nil {
		return nil, wrap(errors.Wrap(attend.ErrArgument, "nil graph"))
	}
	if err := cfg.Validate(); err != nil {
		return nil, wrap(err)
	}
	o, err := layers.Resolve(opts...)
	if err != nil {
		return nil, wrap(err)
	}
	c := cfg.withDefaults()
	std := o.Init
	if std == nil {
		std = layers.Normal(0.02)
	}
	projStd := layers.Normal(0.02 / math.Sqrt(2*float64(c.Layers)))
	wopts := append(append([]layers.Option{}, opts...), layers.WithInit(std))
	m := &Model{Config: c, seed: o.Seed}
	if m.WTE, err = layers.NewEmbedding(g, "wte", c.Vocab, c.Width, wopts...); err != nil {
		return nil, wrap(err)
	}
	if c.Pos == PosLearned {
		if m.WPE, err = layers.NewEmbedding(g, "wpe", c.BlockSize, c.Width, wopts...); err != nil {
			return nil, wrap(err)
		}
	}
	for i := 0; i < c.Layers; i++ {
		name := fmt.Sprintf("blocks.%d", i)
		b := &Block{Name: name, dropout: c.Dropout, seed: o.Seed*1000 + uint64(i), dropMode: &m.mode}
		if !c.NoAttention {
			if b.LN1, err = c.norm(g, name+".ln_1", opts); err != nil {
				return nil, wrap(err)
			}
			if b.Attn, err = layers.NewSelfAttention(g, name+".attn", c.attention(i), wopts...); err != nil {
				return nil, wrap(err)
			}
			if err := layers.Reinit(b.Attn.Wo, projStd, opts...); err != nil {
				return nil, wrap(err)
			}
		}
		if b.LN2, err = c.norm(g, name+".ln_2", opts); err != nil {
			return nil, wrap(err)
		}
		if b.MLP, err = layers.NewMLPWith(g, name+".mlp", layers.MLPConfig{Width: c.Width, Hidden: c.MLPHidden, Bias: c.Bias, Act: c.MLP}, projStd, wopts...); err != nil {
			return nil, wrap(err)
		}
		m.Blocks = append(m.Blocks, b)
	}
	if m.LNF, err = c.norm(g, "ln_f", opts); err != nil {
		return nil, wrap(err)
	}
	if !c.Tied {
		if m.Head, err = layers.NewLinear(g, "lm_head", c.Width, c.Vocab, false, wopts...); err != nil {
			return nil, wrap(err)
		}
	}
	return m, nil
}

// norm builds the normalisation layer Config.Norm names.
func (c Config) norm(g *G.ExprGraph, name string, opts []layers.Option) (layers.Layer, error) {
	if c.Norm == NormLayer {
		return layers.NewLayerNorm(g, name, c.Width, c.Bias, opts...)
	}
	return layers.NewRMSNorm(g, name, c.Width, c.Norm == NormRMS, opts...)
}

// attention is block l's attention configuration.
func (c Config) attention(l int) layers.AttentionConfig {
	a := layers.AttentionConfig{
		DModel: c.Width, Heads: c.Heads, Causal: true, OutProj: true, Bias: c.Bias,
		KVHeads: c.KVHeads, ALiBi: c.Pos == PosALiBi, Window: c.Window(l), QKNorm: c.QKNorm,
	}
	if c.Pos == PosRoPE {
		a.RoPE = &layers.RoPEConfig{Theta: c.RoPETheta, Style: c.RoPEStyle}
	}
	return a
}

// SetTraining switches dropout on (training) or off (evaluation, sampling). A new model
// starts with dropout off.
func (m *Model) SetTraining(on bool) { m.mode.SetTraining(on) }

// SetStep tells dropout which training step runs next; its masks depend only on the
// seed and the step, so a resumed run repeats the uninterrupted one.
func (m *Model) SetStep(step int) { m.mode.SetStep(uint64(step)) }

// Forward returns the logits (B, T, Vocab) for ids, an int node (B, T) with
// T ≤ BlockSize. Position t of the logits predicts the token after ids[:, t], seeing only
// ids[:, ≤ t].
func (m *Model) Forward(ids *G.Node) (*G.Node, error) {
	logits, _, err := m.Apply(ids)
	return logits, err
}

// Apply is Forward that also returns each block's attention weights node (B, H, T, T)
// (nil entries without attention), for inspection and plots.
func (m *Model) Apply(ids *G.Node) (logits *G.Node, weights []*G.Node, err error) {
	y, err := m.apply(ids, nil, &weights)
	return y, weights, err
}

// ApplyCached is Apply for decoding with a key/value cache: ids (B, T) are the tokens at
// the positions after the cache's Len() cached ones (read when the graph runs), and each
// block i keeps its keys and values in the cache's store i. A run computes only the new
// positions' rows; the caller commits them with c.Advance. The weights are
// (B, H, T, c.Cap()). Decoder wraps this for generation.
func (m *Model) ApplyCached(ids *G.Node, c *graph.KVCache) (logits *G.Node, weights []*G.Node, err error) {
	if c == nil {
		return nil, nil, errors.Wrap(graph.ErrArgument, "gpt: ApplyCached: nil cache")
	}
	y, err := m.apply(ids, c, &weights)
	return y, weights, err
}

func (m *Model) apply(ids *G.Node, cache *graph.KVCache, weights *[]*G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: New") }
	x, err := m.stream(ids, cache, len(m.Blocks), weights)
	if err != nil {
		return nil, wrap(err)
	}
	if x, err = m.LNF.Forward(x); err != nil {
		return nil, wrap(err)
	}
	var y *G.Node
	if m.Head != nil {
		y, err = m.Head.Forward(x) // (B, T, C) → (B, T, V)
	} else {
		y, err = graph.Dense(x, m.WTE.W, nil, true) // (B, T, C) × (V, C)ᵀ → (B, T, V)
	}
	if err == nil && m.Config.SoftCap > 0 {
		y, err = graph.SoftCap(y, m.Config.SoftCap) // c·tanh(z/c)
	}
	return y, wrap(err)
}

// BlockInput returns the residual stream entering block l, (B, T, C): the embeddings
// and positions (and embedding dropout) followed by blocks 0 to l-1, built by the same
// code as Forward. l = len(Blocks) gives the input of the final LayerNorm. Tools that
// look inside a layer (train-toy explain) start from it.
func (m *Model) BlockInput(ids *G.Node, l int) (*G.Node, error) {
	if l < 0 || l > len(m.Blocks) {
		return nil, errors.Wrapf(attend.ErrArgument, "gpt: BlockInput: block %d of %d", l, len(m.Blocks))
	}
	var weights []*G.Node
	x, err := m.stream(ids, nil, l, &weights)
	return x, attend.Wrap(err, "gpt: New")
}

// stream is the forward pass up to the input of block upTo: token embedding, positions
// (from the cache length when decoding), embedding dropout, then blocks [0, upTo),
// appending each block's attention weights to weights.
func (m *Model) stream(ids *G.Node, cache *graph.KVCache, upTo int, weights *[]*G.Node) (*G.Node, error) {
	if ids == nil || ids.Dtype() != tensor.Int || ids.Dims() != 2 {
		return nil, errors.Wrapf(graph.ErrShape, "ids must be an int node (B, T), got %v", ids)
	}
	if t := ids.Shape()[1]; t > m.Config.BlockSize {
		return nil, errors.Wrapf(graph.ErrShape, "%d tokens exceed the block size %d", t, m.Config.BlockSize)
	}
	x, err := m.WTE.Forward(ids) // (B, T) → (B, T, C)
	if err != nil {
		return nil, err
	}
	switch {
	case m.WPE == nil: // RoPE and ALiBi act in attention; PosNone has no positions
	case cache == nil:
		x, err = m.WPE.AddPositions(x) // + wpe[:T]
	default:
		x, err = m.WPE.AddPositionsAt(x, cache) // + wpe[Len : Len+T]
	}
	if err != nil {
		return nil, err
	}
	if m.Config.Dropout > 0 {
		if x, err = graph.Dropout(x, m.Config.Dropout, m.seed*1000+999, &m.mode); err != nil {
			return nil, err
		}
	}
	for i, blk := range m.Blocks[:upTo] {
		var w *G.Node
		if cache == nil {
			x, w, err = blk.Apply(x)
		} else {
			x, w, err = blk.ApplyCached(x, cache, i)
		}
		if err != nil {
			return nil, err
		}
		*weights = append(*weights, w)
	}
	return x, nil
}

// Learnables returns wte, wpe (with learned positions), each block's, ln_f's and
// lm_head's (when not tied).
func (m *Model) Learnables() G.Nodes {
	ns := G.Nodes{m.WTE.W}
	if m.WPE != nil {
		ns = append(ns, m.WPE.W)
	}
	for _, b := range m.Blocks {
		ns = append(ns, b.Learnables()...)
	}
	ns = append(ns, m.LNF.Learnables()...)
	if m.Head != nil {
		ns = append(ns, m.Head.Learnables()...)
	}
	return ns
}

// NumParams counts the model's learnable numbers (a tied table once).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Learnables() {
		n += p.Shape().TotalSize()
	}
	return n
}
