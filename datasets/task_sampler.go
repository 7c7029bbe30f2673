package datasets

import (
	"math/rand/v2"

	"github.com/pkg/errors"
)

// TaskSampler draws batches of a Task from its own seeded PCG stream, as Sampler does
// for a corpus: Next fills x and y (unscored targets are IgnoreIndex), and State and
// SetState save and restore the stream for an exact resume.
type TaskSampler struct {
	task   Task
	batch  int
	src    *rand.PCG
	rng    *rand.Rand
	scored []bool
}

// NewTaskSampler returns a sampler of batch examples of task per call, seeded with seed.
func NewTaskSampler(task Task, batch int, seed uint64) (*TaskSampler, error) {
	if task == nil || batch < 1 {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: task sampler needs a task and batch ≥ 1, got %d", batch)
	}
	src := rand.NewPCG(seed, samplerStream)
	return &TaskSampler{task: task, batch: batch, src: src, rng: rand.New(src),
		scored: make([]bool, batch*task.BlockSize())}, nil
}

// Next fills x and y, each batch·BlockSize ids.
func (s *TaskSampler) Next(x, y []int) error {
	return s.task.Batch(s.rng, s.batch, x, y, s.scored)
}

// State returns the stream's state.
func (s *TaskSampler) State() ([]byte, error) { return s.src.MarshalBinary() }

// SetState restores a state saved by State.
func (s *TaskSampler) SetState(b []byte) error {
	if err := s.src.UnmarshalBinary(b); err != nil {
		return errors.Wrap(ErrInvalidArgument, "datasets: task sampler state: "+err.Error())
	}
	return nil
}
