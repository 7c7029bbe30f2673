package train

import (
	"context"
	"math"
	"sync"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LM is a GPT language model wired for training and inference: a training forward and
// backward pass over (Batch, BlockSize) batches, a forward-only evaluation pass over the
// same nodes, and decoders with a key/value cache (layers.Decoder) over the same weights
// for generation, NextLogits and Attention.
//
// Generate, NextLogits and Attention are safe for concurrent use: each call takes a
// decoder of its own from a pool (building one when none is free), sharing the weight
// tensors, which it only reads. Backward, Evaluate, EvaluateStream and the optimiser are
// not: they run the one training graph and write its buffers (and the optimiser the
// weights), so run them from one goroutine, and never while inference calls run.
type LM struct {
	Model  *layers.GPT
	Graph  *G.ExprGraph
	Params G.Nodes // Model.Learnables(), in their fixed order
	Batch  int

	ids, targets *G.Node // (Batch, BlockSize) int inputs
	logits, loss *G.Node
	idsT, tgtT   *tensor.Dense
	trainP       *graph.Program // forward + backward
	evalP        *graph.Program // forward only
	vgs          []G.ValueGrad
	// countCorrect is countCorrectValue for the model's dtype, chosen in NewLM.
	countCorrect func(logits G.Value, y []int, vocab int) (correct, total int, err error)

	decoders sync.Pool // of *layers.Decoder, each one goroutine's at a time
}

// paramGrad is a learnable with the gradient the training program computed for it.
type paramGrad struct {
	param, grad *G.Node
	prog        *graph.Program
}

func (p paramGrad) Value() G.Value { return p.param.Value() }

func (p paramGrad) Grad() (G.Value, error) {
	if v := p.prog.Value(p.grad); v != nil {
		return v, nil
	}
	return nil, errors.Errorf("train: no gradient for %q yet", p.param.Name())
}

// NewLM builds a GPT of the given architecture with a training pass over batches of
// batch rows (batch = 0 builds no training pass: a model for inference only).
func NewLM(cfg layers.GPTConfig, batch int, opts ...layers.Option) (*LM, error) {
	if batch < 0 {
		return nil, errors.Errorf("train: batch = %d; want ≥ 0", batch)
	}
	g := G.NewGraph()
	m, err := layers.NewGPT(g, cfg, opts...)
	if err != nil {
		return nil, errors.Wrap(err, "train: NewLM")
	}
	lm := &LM{Model: m, Graph: g, Params: m.Learnables(), Batch: batch}
	if lm.countCorrect, err = num.ByDtype(lm.Params[0].Dtype(), countCorrectValue[float64], countCorrectValue[float32]); err != nil {
		return nil, errors.Wrap(err, "train: NewLM")
	}
	t := m.Config.BlockSize
	if batch > 0 {
		lm.idsT = tensor.New(tensor.WithShape(batch, t), tensor.Of(tensor.Int))
		lm.tgtT = tensor.New(tensor.WithShape(batch, t), tensor.Of(tensor.Int))
		lm.ids = G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, t), G.WithName("train.ids"), G.WithValue(lm.idsT))
		lm.targets = G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, t), G.WithName("train.targets"), G.WithValue(lm.tgtT))
		if lm.logits, err = m.Forward(lm.ids); err != nil { // (B, T, V)
			return nil, errors.Wrap(err, "train: NewLM")
		}
		if lm.loss, err = graph.CrossEntropy(lm.logits, lm.targets); err != nil {
			return nil, errors.Wrap(err, "train: NewLM")
		}
		grads, err := G.Grad(lm.loss, lm.Params...)
		if err != nil {
			return nil, errors.Wrap(err, "train: NewLM: gradients")
		}
		if lm.trainP, err = graph.NewProgram(append(G.Nodes{lm.loss}, grads...)...); err != nil {
			return nil, errors.Wrap(err, "train: NewLM")
		}
		if lm.evalP, err = graph.NewProgram(lm.loss, lm.logits); err != nil {
			return nil, errors.Wrap(err, "train: NewLM")
		}
		for i, p := range lm.Params {
			lm.vgs = append(lm.vgs, paramGrad{param: p, grad: grads[i], prog: lm.trainP})
		}
	}
	return lm, nil
}

// ValueGrads returns the learnables with their gradients, for an optimiser or clipping.
func (lm *LM) ValueGrads() []G.ValueGrad { return lm.vgs }

func (lm *LM) setBatch(x, y []int) error {
	if lm.Batch == 0 {
		return errors.New("train: this LM was built without a training pass (batch 0)")
	}
	n := lm.Batch * lm.Model.Config.BlockSize
	if len(x) != n || len(y) != n {
		return errors.Errorf("train: batch of %d inputs and %d targets; want %d × %d = %d", len(x), len(y), lm.Batch, lm.Model.Config.BlockSize, n)
	}
	copy(lm.idsT.Data().([]int), x)
	copy(lm.tgtT.Data().([]int), y)
	return nil
}

// Backward runs the forward and backward pass on one batch (x, y: Batch·BlockSize ids,
// y < 0 unscored) and returns the loss. ValueGrads then hold this batch's gradients.
func (lm *LM) Backward(x, y []int) (float64, error) {
	if err := lm.setBatch(x, y); err != nil {
		return 0, err
	}
	lm.Model.SetTraining(true)
	defer lm.Model.SetTraining(false)
	if err := lm.trainP.Run(); err != nil {
		return 0, errors.Wrap(err, "train: forward/backward")
	}
	return scalarOf(lm.trainP.Value(lm.loss))
}

// Evaluate runs the forward pass on one batch and returns the loss and the number of
// scored targets (y ≥ 0) that the model's top prediction gets right, out of total.
func (lm *LM) Evaluate(x, y []int) (loss float64, correct, total int, err error) {
	if err := lm.setBatch(x, y); err != nil {
		return 0, 0, 0, err
	}
	if err := lm.evalP.Run(); err != nil {
		return 0, 0, 0, errors.Wrap(err, "train: evaluation")
	}
	if loss, err = scalarOf(lm.evalP.Value(lm.loss)); err != nil {
		return 0, 0, 0, err
	}
	// read in place: no copy per batch
	if correct, total, err = lm.countCorrect(lm.evalP.Value(lm.logits), y, lm.Model.Config.Vocab); err != nil {
		return 0, 0, 0, errors.Wrap(err, "train: evaluation logits")
	}
	return loss, correct, total, nil
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
		return 0, 0, errors.New("train: EvaluateStream: the LM has no evaluation pass (batch 0)")
	}
	if len(ids) < t+1 {
		return 0, 0, errors.Errorf("train: EvaluateStream: %d tokens; a window needs BlockSize+1 = %d", len(ids), t+1)
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
			return 0, 0, errors.Wrap(err, "train: EvaluateStream")
		}
		sum += l * float64(n)
		correct += c
		total += n
	}
	return sum / float64(total), float64(correct) / float64(total), nil
}

// decoder takes a decoder with an empty context from the pool, or builds one.
func (lm *LM) decoder() (*layers.Decoder, error) {
	if d, ok := lm.decoders.Get().(*layers.Decoder); ok {
		d.Reset()
		return d, nil
	}
	d, err := lm.Model.NewDecoder()
	return d, errors.Wrap(err, "train")
}

// NextLogits returns the logits of the token that follows context (the last BlockSize
// tokens of it are used), from one forward pass over them.
func (lm *LM) NextLogits(context []int) ([]float64, error) {
	if len(context) == 0 {
		return nil, errors.New("train: NextLogits: empty context")
	}
	dec, err := lm.decoder()
	if err != nil {
		return nil, err
	}
	defer lm.decoders.Put(dec)
	logits, err := dec.Feed(context)
	if err != nil {
		return nil, errors.Wrap(err, "train: NextLogits")
	}
	return append([]float64(nil), logits...), nil
}

// Attention runs the forward pass on ids (at most BlockSize tokens) and returns each
// block's attention weights, [block][head][query][key] over the len(ids) positions.
func (lm *LM) Attention(ids []int) ([][][][]float64, error) {
	t := lm.Model.Config.BlockSize
	if len(ids) == 0 || len(ids) > t {
		return nil, errors.Errorf("train: Attention: %d tokens; want 1 to %d", len(ids), t)
	}
	dec, err := lm.decoder()
	if err != nil {
		return nil, err
	}
	defer lm.decoders.Put(dec)
	w, err := dec.Attention(ids)
	return w, errors.Wrap(err, "train: Attention")
}

// scalarOf reads a loss value (a one-element float32 or float64 value).
func scalarOf(v G.Value) (float64, error) {
	f, err := num.Float64s(v)
	if err != nil || len(f) != 1 {
		return math.NaN(), errors.Errorf("train: loss is %T, not a scalar", v)
	}
	return f[0], nil
}

// countCorrectValue is countCorrect on a logits value of element type T, read in place.
func countCorrectValue[T num.Float](logits G.Value, y []int, v int) (correct, total int, err error) {
	s, err := num.Slice[T](logits)
	if err != nil {
		return 0, 0, err
	}
	if len(s) < len(y)*v {
		return 0, 0, errors.Errorf("%d logits for %d targets over %d classes", len(s), len(y), v)
	}
	correct, total = countCorrect(s, y, v)
	return correct, total, nil
}

// countCorrect counts the scored targets (y ≥ 0) whose row of logits (v wide) peaks at
// the target, and the scored targets.
func countCorrect[T num.Float](logits []T, y []int, v int) (correct, total int) {
	for i, t := range y {
		if t < 0 {
			continue
		}
		total++
		if argmax(logits[i*v:(i+1)*v]) == t {
			correct++
		}
	}
	return correct, total
}

func argmax[T num.Float](x []T) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
