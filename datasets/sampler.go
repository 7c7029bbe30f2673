package datasets

import (
	"math/rand/v2"

	"github.com/pkg/errors"
)

// samplerStream is the second PCG seed word; the caller's seed is the first.
const samplerStream = 0x9e3779b97f4a7c15

// Sampler draws random (B, T) batches of windows from a token stream, as nanoGPT's
// get_batch does. Its only state is a PCG source, which State and SetState save and
// restore exactly.
type Sampler struct {
	data         []int
	batch, block int
	src          *rand.PCG
	rng          *rand.Rand
}

// NewSampler returns a sampler of batch windows of block tokens from data, seeded with
// seed. It needs batch ≥ 1, block ≥ 1 (ErrInvalidArgument) and len(data) ≥ block+1
// (ErrTooShort). data is not copied.
func NewSampler(data []int, batch, block int, seed uint64) (*Sampler, error) {
	if batch < 1 {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: sampler: batch size %d, want ≥ 1", batch)
	}
	if block < 1 {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: sampler: block size %d, want ≥ 1", block)
	}
	if len(data) < block+1 {
		return nil, errors.Wrapf(ErrTooShort, "datasets: sampler: data has %d tokens, needs at least block+1 = %d", len(data), block+1)
	}
	src := rand.NewPCG(seed, samplerStream)
	return &Sampler{data: data, batch: batch, block: block, src: src, rng: rand.New(src)}, nil
}

// BatchSize returns B.
func (s *Sampler) BatchSize() int { return s.batch }

// BlockSize returns T.
func (s *Sampler) BlockSize() int { return s.block }

// Next fills x and y, each of length B·T in row-major order, with B windows: for a start
// offset i drawn uniformly from the len(data)-T valid offsets 0 ≤ i < len(data)-T
// (torch.randint(len(data) - block_size) in nanoGPT), x[b*T+t] = data[i+t] and
// y[b*T+t] = data[i+t+1]. Wrong buffer lengths wrap ErrInvalidArgument and leave the
// sampler's state unchanged.
func (s *Sampler) Next(x, y []int) error {
	n := s.batch * s.block
	if len(x) != n || len(y) != n {
		return errors.Wrapf(ErrInvalidArgument, "datasets: sampler: buffers have lengths %d and %d, want B·T = %d·%d = %d", len(x), len(y), s.batch, s.block, n)
	}
	T := s.block
	for b := 0; b < s.batch; b++ {
		i := s.rng.IntN(len(s.data) - T)
		copy(x[b*T:(b+1)*T], s.data[i:i+T])
		copy(y[b*T:(b+1)*T], s.data[i+1:i+T+1])
	}
	return nil
}

// State returns the random source's state; SetState with it makes the sampler repeat
// the batches that followed.
func (s *Sampler) State() ([]byte, error) {
	b, err := s.src.MarshalBinary()
	if err != nil {
		return nil, errors.Wrap(err, "datasets: sampler: save state")
	}
	return b, nil
}

// SetState restores a state saved by State. Malformed state wraps ErrInvalidArgument
// and leaves the sampler unchanged.
func (s *Sampler) SetState(state []byte) error {
	var src rand.PCG
	if err := src.UnmarshalBinary(state); err != nil {
		return errors.Wrapf(ErrInvalidArgument, "datasets: sampler: restore state: %v", err)
	}
	*s.src = src
	return nil
}
