package gpt

import (
	"math"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/torchrand"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// InitLikeNanoGPT gives m the initial weights nanoGPT's GPT gets from PyTorch's generator:
// after torch.manual_seed(s), GPT(config) in nanoGPT's model.py and InitLikeNanoGPT on
// torchrand.New(s) hold the same float32 numbers (to a few ulps: see torchrand), and gen
// is left where the model's construction leaves torch's generator, so the batches drawn
// next from gen are nanoGPT's too.
//
// It replays model.py's draws in order: the construction of each module (nn.Embedding's
// normal_, nn.Linear's Kaiming-uniform weight and bias), then _init_weights over the
// modules (N(0, 0.02) for every Linear and Embedding weight; with tying, lm_head's draw
// is the token embedding), then the N(0, 0.02/√(2·Layers)) re-initialisation of each
// c_proj. c_attn's rows become Wq, Wk, Wv. A tied config is nanoGPT's model; an untied
// one is model.py without its weight-tying line. Biases start at 0 and LayerNorm gains at
// 1. Models without attention have no nanoGPT counterpart and are an error.
func (m *Model) InitLikeNanoGPT(gen *torchrand.Generator) error {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: InitLikeNanoGPT") }
	if gen == nil {
		return wrap(errors.Wrap(attend.ErrArgument, "nil generator"))
	}
	c := m.Config
	if c.NoAttention || !c.isNanoGPT() {
		return wrap(errors.Wrap(attend.ErrArgument, "only nanoGPT's architecture (learned positions, LayerNorm, GELU MLP, full multi-head attention) has a nanoGPT counterpart"))
	}
	C, V, T := c.Width, c.Vocab, c.BlockSize
	draw := func(n int) []float32 { return make([]float32, n) }
	skipNormal := func(n int) { gen.NormalFill32(draw(n), 0, 1) }
	skipUniform := func(n int) { gen.UniformFill32(draw(n), -1, 1) }
	normal := func(n int, std float64) []float32 {
		v := draw(n)
		gen.NormalFill32(v, 0, float32(std))
		return v
	}
	bias := func(n int) {
		if c.Bias {
			skipUniform(n)
		}
	}

	// Construction: nn.Embedding draws N(0, 1); nn.Linear draws U(±1/√in) for its
	// weight, then its bias.
	skipNormal(V * C) // wte
	skipNormal(T * C) // wpe
	for range m.Blocks {
		skipUniform(3 * C * C) // c_attn
		bias(3 * C)
		skipUniform(C * C) // attn.c_proj
		bias(C)
		skipUniform(4 * C * C) // c_fc
		bias(4 * C)
		skipUniform(4 * C * C) // mlp.c_proj
		bias(C)
	}
	skipUniform(V * C) // lm_head, no bias

	// _init_weights, in module order.
	const std = 0.02
	wte := normal(V*C, std)
	wpe := normal(T*C, std)
	type blockInit struct{ cAttn, cFC []float32 }
	blocks := make([]blockInit, len(m.Blocks))
	for i := range m.Blocks {
		blocks[i].cAttn = normal(3*C*C, std)
		normal(C*C, std) // attn.c_proj, drawn again below
		blocks[i].cFC = normal(4*C*C, std)
		normal(4*C*C, std) // mlp.c_proj, drawn again below
	}
	head := normal(V*C, std) // lm_head (V, C)
	if c.Tied {
		wte = head
	}

	type assign struct {
		n *G.Node
		v []float32
	}
	sets := []assign{{m.WTE.W, wte}, {m.WPE.W, wpe}}
	if !c.Tied {
		sets = append(sets, assign{m.Head.W, transpose(head, V, C)})
	}
	projStd := std / math.Sqrt(2*float64(c.Layers))
	for i, b := range m.Blocks {
		a := blocks[i].cAttn
		wo := normal(C*C, projStd)     // attn.c_proj (C, C)
		proj := normal(4*C*C, projStd) // mlp.c_proj (C, 4C)
		sets = append(sets,
			assign{b.Attn.Wq, transpose(a[:C*C], C, C)},
			assign{b.Attn.Wk, transpose(a[C*C:2*C*C], C, C)},
			assign{b.Attn.Wv, transpose(a[2*C*C:], C, C)},
			assign{b.Attn.Wo, transpose(wo, C, C)},
			assign{b.MLP.FC.W, transpose(blocks[i].cFC, 4*C, C)},
			assign{b.MLP.Proj.W, transpose(proj, C, 4*C)})
	}
	// LayerNorm gains 1, every bias 0 (nil ones are absent).
	lnf := m.LNF.(*layers.LayerNorm)
	ones := []*G.Node{lnf.Gain}
	zeros := []*G.Node{lnf.Bias}
	for _, b := range m.Blocks {
		ln1, ln2 := b.LN1.(*layers.LayerNorm), b.LN2.(*layers.LayerNorm)
		ones = append(ones, ln1.Gain, ln2.Gain)
		zeros = append(zeros, ln1.Bias, ln2.Bias, b.Attn.Bq, b.Attn.Bk, b.Attn.Bv, b.Attn.Bo, b.MLP.FC.B, b.MLP.Proj.B)
	}
	for c, nodes := range map[float32][]*G.Node{1: ones, 0: zeros} {
		for _, n := range nodes {
			if n == nil {
				continue
			}
			v := make([]float32, n.Shape().TotalSize())
			for i := range v {
				v[i] = c
			}
			sets = append(sets, assign{n, v})
		}
	}
	for _, s := range sets {
		if err := setValue(s.n, s.v); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// transpose returns the (cols, rows) transpose of the row-major (rows, cols) matrix a:
// a PyTorch nn.Linear weight (out, in) becomes attend's x·W weight (in, out).
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = a[r*cols+c]
		}
	}
	return t
}

// setValue gives the learnable n the values v, in n's dtype.
func setValue(n *G.Node, v []float32) error {
	shape := n.Shape().Clone()
	if shape.TotalSize() != len(v) {
		return errors.Wrapf(attend.ErrArgument, "%s has %v = %d values, got %d", n.Name(), shape, shape.TotalSize(), len(v))
	}
	if dt := n.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		return errors.Wrapf(attend.ErrArgument, "%s has dtype %v, want float32 or float64", n.Name(), dt)
	}
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = float64(x)
	}
	t, err := num.Dense(n.Dtype(), shape, d)
	if err != nil {
		return errors.Wrap(err, n.Name())
	}
	return errors.Wrap(G.Let(n, t), n.Name())
}
