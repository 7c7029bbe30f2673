package datasets

import (
	"encoding/binary"

	"github.com/attend-go/attend/torchrand"
	"github.com/pkg/errors"
)

// NanoGPTStream draws batches exactly as nanoGPT's train.py draws them from PyTorch's
// global generator: torch.randint(len(data) − block, (batch,)) for every batch, training
// and evaluation alike, all from one generator, with the next training batch fetched as
// soon as the current one is handed out (train.py prefetches it right after the forward
// pass). Given the generator that seeded and initialised nanoGPT's model (see
// gpt.Model.InitLikeNanoGPT), a run that takes its training batches from Train, and
// whose evaluations draw from TrainEval then Val (estimate_loss), sees nanoGPT's batches
// in nanoGPT's order.
//
// The first training batch is drawn by NewNanoGPTStream, as train.py draws it before its
// loop. Train, TrainEval and Val share the generator: use them from one goroutine.
type NanoGPTStream struct {
	gen          *torchrand.Generator
	train, val   []int
	batch, block int
	next         []int64 // offsets of the prefetched training batch
	scratch      []int64 // offsets of an evaluation batch
}

// NewNanoGPTStream returns a stream over the train and val splits drawing from gen, and
// draws the first training batch. It needs batch ≥ 1, block ≥ 1 (ErrInvalidArgument)
// and each split at least block+1 tokens long (ErrTooShort). The splits are not copied.
func NewNanoGPTStream(train, val []int, batch, block int, gen *torchrand.Generator) (*NanoGPTStream, error) {
	switch {
	case gen == nil:
		return nil, errors.Wrap(ErrInvalidArgument, "datasets: nanoGPT stream: nil generator")
	case batch < 1 || block < 1:
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: nanoGPT stream: batch %d and block %d must be ≥ 1", batch, block)
	case len(train) < block+1:
		return nil, errors.Wrapf(ErrTooShort, "datasets: nanoGPT stream: training split has %d tokens, needs at least block+1 = %d", len(train), block+1)
	case len(val) < block+1:
		return nil, errors.Wrapf(ErrTooShort, "datasets: nanoGPT stream: validation split has %d tokens, needs at least block+1 = %d", len(val), block+1)
	}
	s := &NanoGPTStream{gen: gen, train: train, val: val, batch: batch, block: block, next: make([]int64, batch), scratch: make([]int64, batch)}
	if err := s.draw(s.next, train); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *NanoGPTStream) draw(offsets []int64, data []int) error {
	for i := range offsets {
		o, err := s.gen.RandInt(int64(len(data) - s.block))
		if err != nil {
			return errors.Wrap(err, "datasets: nanoGPT stream")
		}
		offsets[i] = o
	}
	return nil
}

func (s *NanoGPTStream) fill(x, y []int, data []int, offsets []int64) error {
	n := s.batch * s.block
	if len(x) != n || len(y) != n {
		return errors.Wrapf(ErrInvalidArgument, "datasets: nanoGPT stream: buffers have lengths %d and %d, want B·T = %d·%d = %d", len(x), len(y), s.batch, s.block, n)
	}
	T := s.block
	for b, o := range offsets {
		i := int(o)
		copy(x[b*T:(b+1)*T], data[i:i+T])
		copy(y[b*T:(b+1)*T], data[i+1:i+T+1])
	}
	return nil
}

// Train returns the training batcher: Next hands out the prefetched batch and draws the
// next one.
func (s *NanoGPTStream) Train() *NanoGPTBatcher { return &NanoGPTBatcher{s: s, kind: trainBatches} }

// TrainEval returns a batcher of fresh training batches for loss estimates; it leaves
// the prefetched training batch alone.
func (s *NanoGPTStream) TrainEval() *NanoGPTBatcher {
	return &NanoGPTBatcher{s: s, kind: trainEvalBatches}
}

// Val returns a batcher of fresh validation batches.
func (s *NanoGPTStream) Val() *NanoGPTBatcher { return &NanoGPTBatcher{s: s, kind: valBatches} }

// NanoGPTBatcher is one of a NanoGPTStream's three batchers. State and SetState save and
// restore the whole stream (generator and prefetched batch), whichever batcher they are
// called on, so a checkpoint that saves the training and validation batchers together
// restores the stream exactly.
type NanoGPTBatcher struct {
	s    *NanoGPTStream
	kind batchKind
}

type batchKind int

const (
	trainBatches     batchKind = iota // the prefetched training batches
	trainEvalBatches                  // fresh training batches for loss estimates
	valBatches                        // fresh validation batches
)

// Next fills x and y, each B·T ids row-major.
func (b *NanoGPTBatcher) Next(x, y []int) error {
	s := b.s
	switch b.kind {
	case trainBatches:
		if err := s.fill(x, y, s.train, s.next); err != nil {
			return err
		}
		return s.draw(s.next, s.train)
	case trainEvalBatches:
		return s.fresh(x, y, s.train)
	default:
		return s.fresh(x, y, s.val)
	}
}

// fresh draws a new batch from data into x and y; wrong buffer lengths draw nothing.
func (s *NanoGPTStream) fresh(x, y []int, data []int) error {
	if n := s.batch * s.block; len(x) != n || len(y) != n {
		return s.fill(x, y, data, nil)
	}
	if err := s.draw(s.scratch, data); err != nil {
		return err
	}
	return s.fill(x, y, data, s.scratch)
}

// State returns the stream's state: the generator's, then the prefetched offsets.
func (b *NanoGPTBatcher) State() ([]byte, error) {
	st, err := b.s.gen.MarshalBinary()
	if err != nil {
		return nil, errors.Wrap(err, "datasets: nanoGPT stream: save state")
	}
	st = append([]byte("nanogpt1"), st...)
	for _, o := range b.s.next {
		st = binary.LittleEndian.AppendUint64(st, uint64(o))
	}
	return st, nil
}

// SetState restores a state saved by State. A malformed state, or offsets outside the
// training split, wrap ErrInvalidArgument and leave the stream unchanged.
func (b *NanoGPTBatcher) SetState(state []byte) error {
	s := b.s
	const magic = "nanogpt1"
	if len(state) < len(magic) || string(state[:len(magic)]) != magic {
		return errors.Wrap(ErrInvalidArgument, "datasets: nanoGPT stream: restore state: not a nanoGPT stream state")
	}
	state = state[len(magic):]
	tail := 8 * s.batch
	if len(state) < tail {
		return errors.Wrapf(ErrInvalidArgument, "datasets: nanoGPT stream: restore state: %d bytes, too short", len(state))
	}
	var gen torchrand.Generator
	if err := gen.UnmarshalBinary(state[:len(state)-tail]); err != nil {
		return errors.Wrapf(ErrInvalidArgument, "datasets: nanoGPT stream: restore state: %v", err)
	}
	next := make([]int64, s.batch)
	for i := range next {
		o := int64(binary.LittleEndian.Uint64(state[len(state)-tail+8*i:]))
		if o < 0 || o >= int64(len(s.train)-s.block) {
			return errors.Wrapf(ErrInvalidArgument, "datasets: nanoGPT stream: restore state: offset %d outside the training split", o)
		}
		next[i] = o
	}
	*s.gen = gen
	s.next = next
	return nil
}
