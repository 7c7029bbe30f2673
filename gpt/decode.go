package gpt

import (
	"fmt"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Decoder runs a GPT one token at a time with a key/value cache: each token costs its
// own row of every matrix product plus attention over the cached keys, not a forward
// pass over the whole context. It is the model's own forward pass (Model.ApplyCached, the
// layers' code that training runs) compiled twice on one graph.KVCache: over BlockSize
// positions from position 0, for a prompt or a window, and over one position after the
// cached ones, for each next token. Its logits are those of the full forward pass over
// the context, to rounding (float64 within 1e-12).
//
// The context is every token fed since the last Reset, cropped to its last BlockSize
// tokens as nanoGPT crops it. Once it passes BlockSize, every new token shifts the
// window and so the positions of all of it: the decoder then encodes the whole window
// again (one pass over BlockSize positions) for each token.
//
// A Decoder reads the model's weight tensors where they are (it does not copy them), so
// it sees the weights as they are when it runs; a value replaced with gorgonia.Let is
// picked up by the next pass from position 0 (after Reset, or when the window slides). A Decoder is not safe for
// concurrent use, but any number of Decoders of one model may run at once, each on its
// own goroutine, as long as nothing writes the weights meanwhile (no training step, no
// checkpoint load). Each holds the activations of a pass over BlockSize positions.
type Decoder struct {
	src    G.Nodes // the model's learnables
	params G.Nodes // the decoder's nodes over the same tensors, in the same order
	cfg    Config
	cache  *graph.KVCache
	whole  decodePass // (1, BlockSize) tokens from position 0
	step   decodePass // (1, 1) token at position Len
	window []int      // the tokens in the cache
	// g and model build, on first use, the passes Attention runs: one of exactly
	// len(ids) positions, so that its weights are (1, H, len(ids), BlockSize), not
	// (1, H, BlockSize, BlockSize) (a GiB at a 4096-token block).
	g      *G.ExprGraph
	model  *Model
	attn   map[int]*decodePass
	one    [1]int
	logits []float64
	read   func(dst []float64, d *tensor.Dense, off int) // dtype chosen at build
}

// decodePass is one compiled pass of the decoder's GPT.
type decodePass struct {
	ids     []int // the backing of the ids input
	logits  *G.Node
	weights []*G.Node      // per block, nil without attention
	prog    *graph.Program // the logits only: the attention never builds its weights
	withW   *graph.Program // the logits and the weights, built by the first Attention
}

// NewDecoder builds a decoder over the model's weights with an empty context. Dropout is
// off in it, as in evaluation.
func (m *Model) NewDecoder() (*Decoder, error) {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: NewDecoder") }
	src := m.Learnables()
	for _, p := range src {
		if _, ok := p.Value().(*tensor.Dense); !ok {
			return nil, wrap(errors.Wrapf(attend.ErrArgument, "learnable %q has no value", p.Name()))
		}
	}
	cfg := m.Config
	cfg.Dropout = 0
	dt := m.WTE.W.Dtype()
	g := G.NewGraph()
	dm, err := New(g, cfg, layers.WithDtype(dt), layers.Share(src))
	if err != nil {
		return nil, wrap(err)
	}
	d := &Decoder{src: src, params: dm.Learnables(), cfg: cfg, logits: make([]float64, cfg.Vocab), g: g, model: dm, attn: map[int]*decodePass{}}
	if d.cache, err = graph.NewKVCache(1, cfg.BlockSize); err != nil {
		return nil, wrap(err)
	}
	if d.whole, err = newDecodePass(g, dm, d.cache, "decode.window", cfg.BlockSize); err != nil {
		return nil, wrap(err)
	}
	if d.step, err = newDecodePass(g, dm, d.cache, "decode.next", 1); err != nil {
		return nil, wrap(err)
	}
	d.window = make([]int, 0, cfg.BlockSize)
	switch dt {
	case tensor.Float64:
		d.read = readFloats((*tensor.Dense).Float64s)
	case tensor.Float32:
		d.read = readFloats((*tensor.Dense).Float32s)
	default:
		return nil, wrap(errors.Wrapf(attend.ErrArgument, "dtype %v", dt))
	}
	return d, nil
}

func newDecodePass(g *G.ExprGraph, m *Model, c *graph.KVCache, name string, t int) (decodePass, error) {
	ids := tensor.New(tensor.WithShape(1, t), tensor.Of(tensor.Int))
	in := G.NewTensor(g, tensor.Int, 2, G.WithShape(1, t), G.WithName(name), G.WithValue(ids))
	p := decodePass{ids: ids.Ints()}
	var err error
	if p.logits, p.weights, err = m.ApplyCached(in, c); err != nil { // (1, t, V), each (1, H, t, BlockSize)
		return p, err
	}
	p.prog, err = graph.NewProgram(p.logits)
	return p, err
}

// weightsProgram is the program of the pass that also computes the attention weights.
func (p *decodePass) weightsProgram() (*graph.Program, error) {
	if p.withW == nil {
		outs := G.Nodes{p.logits}
		for _, w := range p.weights {
			if w != nil {
				outs = append(outs, w)
			}
		}
		var err error
		if p.withW, err = graph.NewProgram(outs...); err != nil {
			return nil, err
		}
	}
	return p.withW, nil
}

// readFloats returns a function that copies len(dst) elements of a tensor from off on
// into dst as float64.
func readFloats[T float32 | float64](elems func(*tensor.Dense) []T) func(dst []float64, d *tensor.Dense, off int) {
	return func(dst []float64, d *tensor.Dense, off int) {
		src := elems(d)[off : off+len(dst)]
		for i, x := range src {
			dst[i] = float64(x)
		}
	}
}

// Len is the number of tokens in the context (at most BlockSize).
func (d *Decoder) Len() int { return d.cache.Len() }

// Reset empties the context.
func (d *Decoder) Reset() {
	d.cache.Reset()
	d.window = d.window[:0]
}

// Next appends token to the context and returns the logits for the token after it
// (valid until the next call).
func (d *Decoder) Next(token int) ([]float64, error) {
	d.one[0] = token
	return d.Feed(d.one[:])
}

// Feed appends tokens to the context and returns the logits for the token after the
// last one (valid until the next call). When the window slides, or into an empty
// context more than BlockSize/4 of them, the tokens are encoded together in one pass
// over BlockSize positions; otherwise one position at a time, which is cheaper then.
// A token outside the vocabulary is an error that leaves the context as it was.
func (d *Decoder) Feed(tokens []int) ([]float64, error) {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: Decoder") }
	if len(tokens) == 0 {
		return nil, wrap(errors.Wrap(attend.ErrArgument, "no tokens"))
	}
	for _, tok := range tokens {
		if tok < 0 || tok >= d.cfg.Vocab {
			return nil, wrap(errors.Wrapf(attend.ErrData, "token %d outside the vocabulary of %d", tok, d.cfg.Vocab))
		}
	}
	t, n := d.cfg.BlockSize, d.cache.Len()
	switch {
	case n == 0 && 4*len(tokens) > t:
		return d.encode(tokens[max(0, len(tokens)-t):])
	case n+len(tokens) <= t:
		if n == 0 {
			if err := d.sync(); err != nil {
				return nil, wrap(err)
			}
		}
		for _, tok := range tokens {
			if err := d.next(tok); err != nil {
				return nil, wrap(err)
			}
		}
		return d.logits, nil
	case len(tokens) >= t:
		return d.encode(tokens[len(tokens)-t:])
	}
	keep := t - len(tokens) // the window slides: its last keep tokens stay
	d.window = append(d.window[:copy(d.window, d.window[len(d.window)-keep:])], tokens...)
	return d.encode(d.window)
}

// encode replaces the context by ctx (1 to BlockSize tokens) in one pass from position 0.
func (d *Decoder) encode(ctx []int) ([]float64, error) {
	return d.encodeWith(d.whole.prog, ctx)
}

// encodeWith is encode running prog, one of d.whole's programs.
func (d *Decoder) encodeWith(prog *graph.Program, ctx []int) ([]float64, error) {
	wrap := func(err error) error { return attend.Wrap(err, "gpt: Decoder") }
	if err := d.sync(); err != nil {
		return nil, wrap(err)
	}
	d.cache.Reset()
	d.window = append(d.window[:0], ctx...)
	ids := d.whole.ids
	copy(ids, ctx)
	clear(ids[len(ctx):]) // padding: causal attention keeps it from the real positions
	if err := d.runProg(d.whole, prog, len(ctx)); err != nil {
		d.window = d.window[:0]
		return nil, wrap(err)
	}
	return d.logits, nil
}

// next appends one token at position Len.
func (d *Decoder) next(tok int) error {
	d.step.ids[0] = tok
	if err := d.run(d.step, 1); err != nil {
		return err
	}
	d.window = append(d.window, tok)
	return nil
}

// run runs a pass whose first n positions are real, commits them to the cache and reads
// the logits after the last.
func (d *Decoder) run(p decodePass, n int) error { return d.runProg(p, p.prog, n) }

// runProg is run with prog, one of p's programs.
func (d *Decoder) runProg(p decodePass, prog *graph.Program, n int) error {
	if err := prog.Run(); err != nil {
		return err
	}
	if err := d.cache.Advance(n); err != nil {
		return err
	}
	l, err := denseOf(prog.Value(p.logits))
	if err != nil {
		return err
	}
	d.read(d.logits, l, (n-1)*d.cfg.Vocab)
	return nil
}

// sync points the decoder's learnables at the model's values again, where one was
// replaced (gorgonia.Let) since the decoder was built.
func (d *Decoder) sync() error {
	for i, p := range d.src {
		v := p.Value()
		if v == d.params[i].Value() {
			continue
		}
		if v == nil || !v.Shape().Eq(d.params[i].Shape()) || v.Dtype() != d.params[i].Dtype() {
			return errors.Wrapf(attend.ErrArgument, "learnable %q changed its value to %v", p.Name(), v)
		}
		if err := G.Let(d.params[i], v); err != nil {
			return errors.Wrap(err, p.Name())
		}
	}
	return nil
}

// Attention replaces the context by ids (1 to BlockSize tokens), encoded in one pass,
// and returns each block's attention weights, [block][head][query][key] over the
// len(ids) positions (nil for a block without attention).
func (d *Decoder) Attention(ids []int) ([][][][]float64, error) {
	if len(ids) == 0 || len(ids) > d.cfg.BlockSize {
		return nil, errors.Wrapf(attend.ErrArgument, "gpt: Decoder: Attention of %d tokens; want 1 to %d", len(ids), d.cfg.BlockSize)
	}
	for _, tok := range ids {
		if tok < 0 || tok >= d.cfg.Vocab {
			return nil, errors.Wrapf(attend.ErrData, "token %d outside the vocabulary of %d", tok, d.cfg.Vocab)
		}
	}
	wrap := func(err error) error { return attend.Wrap(err, "gpt: Decoder") }
	n := len(ids)
	p := d.attn[n]
	if p == nil {
		np, err := newDecodePass(d.g, d.model, d.cache, fmt.Sprintf("decode.attention%d", n), n)
		if err != nil {
			return nil, wrap(err)
		}
		p, d.attn[n] = &np, &np
	}
	prog, err := p.weightsProgram()
	if err != nil {
		return nil, wrap(err)
	}
	if err := d.sync(); err != nil {
		return nil, wrap(err)
	}
	d.cache.Reset()
	copy(p.ids, ids)
	d.window = append(d.window[:0], ids...)
	if err := d.runProg(*p, prog, n); err != nil {
		d.window = d.window[:0]
		return nil, wrap(err)
	}
	t := d.cfg.BlockSize // the weights' keys: the cache's capacity
	out := make([][][][]float64, len(d.whole.weights))
	for b, w := range p.weights {
		if w == nil {
			continue
		}
		v, err := denseOf(prog.Value(w)) // (1, H, n, T)
		if err != nil {
			return nil, attend.Wrap(err, "gpt: Decoder")
		}
		out[b] = make([][][]float64, w.Shape()[1])
		for h := range out[b] {
			out[b][h] = make([][]float64, n)
			for i := range out[b][h] {
				out[b][h][i] = make([]float64, n)
				d.read(out[b][h][i], v, (h*n+i)*t)
			}
		}
	}
	return out, nil
}

func denseOf(v G.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("expected a *tensor.Dense, got %T", v)
	}
	return d, nil
}
