package layers

import (
	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// The activations of an MLP (MLPConfig.Act).
const (
	// ActGELU is nanoGPT's block: proj(GELU(fc(x))), with the exact erf GELU.
	ActGELU = "gelu"
	// ActSwiGLU is Llama's block: proj(silu(gate(x)) ⊙ up(x)) (Llama's w2(silu(w1(x)) ⊙
	// w3(x)) with w1 = gate, w3 = up, w2 = proj).
	ActSwiGLU = "swiglu"
	// ActReLU2 is nanochat's block: proj(relu(fc(x))²).
	ActReLU2 = "relu2"
)

// MLPConfig is the architecture of an MLP.
type MLPConfig struct {
	// Width is the block's input and output width (the model's).
	Width int
	// Hidden is the hidden width; 0 means 4·Width for ActGELU and ActReLU2 and
	// LlamaHidden(Width, 1) = ⌊8·Width/3⌋ for ActSwiGLU (the same number of weights as
	// a 4·Width two-matrix block).
	Hidden int
	// Bias gives every Linear of the block a bias (nanoGPT has them, Llama and nanochat
	// not).
	Bias bool
	// Act is ActGELU (also the meaning of ""), ActSwiGLU or ActReLU2.
	Act string
}

// LlamaHidden is the hidden width of Llama's SwiGLU block for a model of the given
// width, as Meta's FeedForward computes it (without ffn_dim_multiplier): ⌊2·(4·width)/3⌋
// rounded up to a multiple of multipleOf (LlamaHidden(4096, 256) = 11008, Llama's 7B).
// It is 0 when width or multipleOf is < 1.
func LlamaHidden(width, multipleOf int) int {
	if width < 1 || multipleOf < 1 {
		return 0
	}
	h := 2 * (4 * width) / 3
	return multipleOf * ((h + multipleOf - 1) / multipleOf)
}

// MLP is a transformer's feed-forward block. With ActGELU (nanoGPT's, what NewMLP
// builds) and ActReLU2 it is Linear(Width → Hidden), the activation, Linear(Hidden →
// Width); with ActSwiGLU it is Llama's gated block of three Linears.
type MLP struct {
	Name          string
	Act           string // ActGELU, ActSwiGLU or ActReLU2
	Width, Hidden int
	FC            *Linear // name.fc, (Width, Hidden); nil with ActSwiGLU
	Gate, Up      *Linear // name.gate and name.up, (Width, Hidden), with ActSwiGLU only
	Proj          *Linear // name.proj, (Hidden, Width)
}

// NewMLP adds nanoGPT's MLP to g: Linear(width → 4·width) as name.fc, GELU,
// Linear(4·width → width) as name.proj. It is NewMLPWith with MLPConfig{Width: width,
// Hidden: 4·width, Bias: bias, Act: ActGELU}.
func NewMLP(g *G.ExprGraph, name string, width int, bias bool, projInit Init, opts ...Option) (*MLP, error) {
	return NewMLPWith(g, name, MLPConfig{Width: width, Hidden: 4 * width, Bias: bias, Act: ActGELU}, projInit, opts...)
}

// NewMLPWith adds an MLP of the configuration cfg to g. Its Linears are name.fc (ActGELU,
// ActReLU2) or name.gate and name.up (ActSwiGLU), then name.proj; each has
// name.<linear>.weight and, with cfg.Bias, name.<linear>.bias. Weights default to
// PyTorch's nn.Linear initialisation; WithInit sets them all, and projInit, if not nil,
// sets name.proj's (GPT scales it by 1/√(2·layers)).
func NewMLPWith(g *G.ExprGraph, name string, cfg MLPConfig, projInit Init, opts ...Option) (*MLP, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: MLP %q", name) }
	if g == nil || name == "" {
		return nil, wrap(errors.Wrap(ErrConfig, "need a graph and a name"))
	}
	if cfg.Act == "" {
		cfg.Act = ActGELU
	}
	if cfg.Act != ActGELU && cfg.Act != ActSwiGLU && cfg.Act != ActReLU2 {
		return nil, wrap(errors.Wrapf(ErrConfig, "activation %q; want %q, %q or %q", cfg.Act, ActGELU, ActSwiGLU, ActReLU2))
	}
	if cfg.Width < 1 || cfg.Hidden < 0 {
		return nil, wrap(errors.Wrapf(ErrConfig, "width %d and hidden width %d; want ≥ 1 and ≥ 0 (0: the default)", cfg.Width, cfg.Hidden))
	}
	if cfg.Hidden == 0 {
		cfg.Hidden = 4 * cfg.Width
		if cfg.Act == ActSwiGLU {
			cfg.Hidden = LlamaHidden(cfg.Width, 1)
		}
	}
	m := &MLP{Name: name, Act: cfg.Act, Width: cfg.Width, Hidden: cfg.Hidden}
	var err error
	if cfg.Act == ActSwiGLU {
		if m.Gate, err = NewLinear(g, name+".gate", cfg.Width, cfg.Hidden, cfg.Bias, opts...); err != nil {
			return nil, wrap(err)
		}
		if m.Up, err = NewLinear(g, name+".up", cfg.Width, cfg.Hidden, cfg.Bias, opts...); err != nil {
			return nil, wrap(err)
		}
	} else if m.FC, err = NewLinear(g, name+".fc", cfg.Width, cfg.Hidden, cfg.Bias, opts...); err != nil {
		return nil, wrap(err)
	}
	if projInit != nil {
		opts = append(opts, WithInit(projInit))
	}
	if m.Proj, err = NewLinear(g, name+".proj", cfg.Hidden, cfg.Width, cfg.Bias, opts...); err != nil {
		return nil, wrap(err)
	}
	return m, nil
}

// Forward applies the MLP to x (N, Width) or (B, T, Width).
func (m *MLP) Forward(x *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrapf(err, "layers: MLP %q", m.Name) }
	var h *G.Node
	var err error
	switch m.Act {
	case ActSwiGLU:
		var gate, up *G.Node
		if gate, err = m.Gate.Forward(x); err != nil { // (B, T, C) → (B, T, H)
			return nil, wrap(err)
		}
		if up, err = m.Up.Forward(x); err != nil {
			return nil, wrap(err)
		}
		if h, err = graph.SwiGLU(gate, up); err != nil {
			return nil, wrap(err)
		}
	default:
		if h, err = m.FC.Forward(x); err != nil { // (B, T, C) → (B, T, H)
			return nil, wrap(err)
		}
		if m.Act == ActReLU2 {
			h, err = graph.ReLUSquared(h)
		} else {
			h, err = graph.GELU(h)
		}
		if err != nil {
			return nil, wrap(err)
		}
	}
	y, err := m.Proj.Forward(h) // (B, T, H) → (B, T, C)
	return y, wrap(err)
}

// Learnables returns FC's then Proj's, or with ActSwiGLU Gate's, Up's, then Proj's.
func (m *MLP) Learnables() G.Nodes {
	var ns G.Nodes
	for _, l := range []*Linear{m.FC, m.Gate, m.Up, m.Proj} {
		if l != nil {
			ns = append(ns, l.Learnables()...)
		}
	}
	return ns
}
