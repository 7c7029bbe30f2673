package gpt

import (
	"context"
	"sync"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LM is a GPT language model wired for training and inference: a training forward and
// backward pass over (Batch, BlockSize) batches and a forward-only evaluation pass over
// the same nodes (a train.GraphModel: an LM is a train.Model), and decoders with a
// key/value cache (Decoder) over the same weights for generation, NextLogits and
// Attention.
//
// Generate, NextLogits and Attention are safe for concurrent use: each call takes a
// decoder of its own from a pool (building one when none is free), sharing the weight
// tensors, which it only reads. Backward, Evaluate, EvaluateStream and the optimiser are
// not: they run the one training graph and write its buffers (and the optimiser the
// weights), so run them from one goroutine, and never while inference calls run.
type LM struct {
	Model  *Model
	Graph  *G.ExprGraph
	Params G.Nodes // Model.Learnables(), in their fixed order
	Batch  int

	*train.GraphModel // nil when Batch is 0

	decoders sync.Pool // of *Decoder, each one goroutine's at a time
}

// NewLM builds a GPT of the given architecture with a training pass over batches of
// batch rows (batch = 0 builds no training pass: a model for inference only).
func NewLM(cfg Config, batch int, opts ...layers.Option) (*LM, error) {
	lm, err := newLM(cfg, batch, opts)
	return lm, attend.Wrap(err, "gpt: NewLM")
}

func newLM(cfg Config, batch int, opts []layers.Option) (*LM, error) {
	if batch < 0 {
		return nil, errors.Wrapf(attend.ErrArgument, "batch = %d; want ≥ 0", batch)
	}
	g := G.NewGraph()
	m, err := New(g, cfg, opts...)
	if err != nil {
		return nil, err
	}
	lm := &LM{Model: m, Graph: g, Params: m.Learnables(), Batch: batch}
	if batch == 0 {
		return lm, nil
	}
	t := m.Config.BlockSize
	idsT := tensor.New(tensor.WithShape(batch, t), tensor.Of(tensor.Int))
	tgtT := tensor.New(tensor.WithShape(batch, t), tensor.Of(tensor.Int))
	ids := G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, t), G.WithName("train.ids"), G.WithValue(idsT))
	targets := G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, t), G.WithName("train.targets"), G.WithValue(tgtT))
	logits, err := m.Forward(ids) // (B, T, V)
	if err != nil {
		return nil, err
	}
	loss, err := graph.CrossEntropy(logits, targets)
	if err != nil {
		return nil, err
	}
	if lm.GraphModel, err = train.NewGraphModel(train.GraphSpec{Inputs: ids, Targets: targets, Loss: loss, Logits: logits, Params: lm.Params}); err != nil {
		return nil, err
	}
	lm.GraphModel.SetTraining = m.SetTraining
	lm.GraphModel.SetStep = m.SetStep
	return lm, nil
}

// Learnables returns the model's learnables (Params), also for an LM without a
// training pass.
func (lm *LM) Learnables() G.Nodes { return lm.Params }

// errNoTraining is the error of a training or evaluation call on an LM built with batch 0.
var errNoTraining = errors.Wrap(attend.ErrArgument, "gpt: this LM was built without a training pass (batch 0)")

// Backward runs the forward and backward pass of step step on one batch (x, y:
// Batch·BlockSize ids, y < 0 unscored) and returns the loss. ValueGrads then hold this
// batch's gradients.
func (lm *LM) Backward(step int, x, y []int) (float64, error) {
	if lm.GraphModel == nil {
		return 0, errNoTraining
	}
	return lm.GraphModel.Backward(step, x, y)
}

// Evaluate runs the forward pass on one batch and returns the loss and the number of
// scored targets (y ≥ 0) that the model's top prediction gets right, out of total.
func (lm *LM) Evaluate(x, y []int) (loss float64, correct, total int, err error) {
	if lm.GraphModel == nil {
		return 0, 0, 0, errNoTraining
	}
	return lm.GraphModel.Evaluate(x, y)
}

// EvaluateStream returns the mean next-token loss and accuracy over a whole token
// stream, cut into non-overlapping windows of BlockSize inputs: ids[i:i+T] predicting
// ids[i+1:i+T+1] for i = 0, T, 2T, … while a window and its last target fit. Every
// scored target counts once (the loss is not a mean of batch means). The windows go
// through the evaluation pass Batch at a time; unused rows of the last batch are not
// scored. A validation split evaluated this way has no sampling noise, unlike a few
// random batches.
func (lm *LM) EvaluateStream(ids []int) (loss, acc float64, err error) {
	return lm.EvaluateStreamContext(context.Background(), ids)
}

// EvaluateStreamContext is EvaluateStream that stops, returning context.Cause(ctx), when
// ctx is cancelled (checked before every batch of windows).
func (lm *LM) EvaluateStreamContext(ctx context.Context, ids []int) (loss, acc float64, err error) {
	t := lm.Model.Config.BlockSize
	if lm.Batch == 0 {
		return 0, 0, errors.New("gpt: EvaluateStream: the LM has no evaluation pass (batch 0)")
	}
	if len(ids) < t+1 {
		return 0, 0, errors.Errorf("gpt: EvaluateStream: %d tokens; a window needs BlockSize+1 = %d", len(ids), t+1)
	}
	x, y := make([]int, lm.Batch*t), make([]int, lm.Batch*t)
	var sum float64
	var correct, total int
	for start := 0; start+t < len(ids); {
		if ctx.Err() != nil {
			return 0, 0, context.Cause(ctx)
		}
		for b := 0; b < lm.Batch; b++ {
			xr, yr := x[b*t:(b+1)*t], y[b*t:(b+1)*t]
			if start+t < len(ids) {
				copy(xr, ids[start:start+t])
				copy(yr, ids[start+1:start+t+1])
				start += t
				continue
			}
			clear(xr)
			for i := range yr {
				yr[i] = -1
			}
		}
		l, c, n, err := lm.Evaluate(x, y)
		if err != nil {
			return 0, 0, attend.Wrap(err, "gpt: EvaluateStream")
		}
		sum += l * float64(n)
		correct += c
		total += n
	}
	return sum / float64(total), float64(correct) / float64(total), nil
}

// decoder takes a decoder with an empty context from the pool, or builds one.
func (lm *LM) decoder() (*Decoder, error) {
	if d, ok := lm.decoders.Get().(*Decoder); ok {
		d.Reset()
		return d, nil
	}
	d, err := lm.Model.NewDecoder()
	return d, err
}

// NextLogits returns the logits of the token that follows context (the last BlockSize
// tokens of it are used), from one forward pass over them.
func (lm *LM) NextLogits(context []int) ([]float64, error) {
	if len(context) == 0 {
		return nil, errors.New("gpt: NextLogits: empty context")
	}
	dec, err := lm.decoder()
	if err != nil {
		return nil, err
	}
	defer lm.decoders.Put(dec)
	logits, err := dec.Feed(context)
	if err != nil {
		return nil, attend.Wrap(err, "gpt: NextLogits")
	}
	return append([]float64(nil), logits...), nil
}

// Attention runs the forward pass on ids (at most BlockSize tokens) and returns each
// block's attention weights, [block][head][query][key] over the len(ids) positions.
func (lm *LM) Attention(ids []int) ([][][][]float64, error) {
	t := lm.Model.Config.BlockSize
	if len(ids) == 0 || len(ids) > t {
		return nil, errors.Errorf("gpt: Attention: %d tokens; want 1 to %d", len(ids), t)
	}
	dec, err := lm.decoder()
	if err != nil {
		return nil, err
	}
	defer lm.decoders.Put(dec)
	w, err := dec.Attention(ids)
	return w, attend.Wrap(err, "gpt: Attention")
}
