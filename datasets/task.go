package datasets

import (
	"math/rand/v2"

	"github.com/pkg/errors"
)

// Task is a synthetic next-token task generated in code.
//
// Every example is one sequence of BlockSize()+1 tokens; x holds its first T tokens
// and y the last T, so y[t] is the token after x[t]. Only the positions whose target
// can be predicted from what came before are scored: there scored is true and y holds
// the target; elsewhere scored is false and y is IgnoreIndex. The loss and the accuracy
// (see Accuracy) use the scored positions only. Each task documents its layout.
type Task interface {
	Name() string
	Tokenizer() Tokenizer
	// BlockSize is T, the input length of one example.
	BlockSize() int
	// Batch fills x, y and scored, each of length B·T in row-major order, with B
	// examples drawn with rng.
	Batch(rng *rand.Rand, B int, x, y []int, scored []bool) error
	// Prompts returns a few demo prompts, as text for Tokenizer, each ending where
	// the scored part of a sequence begins.
	Prompts() []string
	// Answer returns the correct continuation of prompt, if prompt is a valid prompt
	// of this task.
	Answer(prompt string) (string, bool)
}

// TaskOptions configure the character tasks. The zero value gives the defaults; the
// statquest task takes no options and rejects non-zero ones.
type TaskOptions struct {
	// Length is L, the length of the random string; 0 means 8, the shortest length
	// at which a 2-layer model cannot succeed by memorising patterns.
	Length int
	// Alphabet holds the distinct symbols of the random string; "" means "abcdefgh",
	// small enough to learn in seconds, large enough that guessing scores 1/8. It must
	// not contain the separator '|'.
	Alphabet string
}

// TaskNames returns the names accepted by NewTask, sorted.
func TaskNames() []string {
	return []string{"copy", "reverse", "sort", "statquest"}
}

// NewTask returns the task called name (one of TaskNames); an unknown name wraps
// ErrUnknownTask, bad options ErrInvalidArgument.
func NewTask(name string, opts TaskOptions) (Task, error) {
	switch name {
	case "copy":
		return NewCopyTask(opts)
	case "reverse":
		return NewReverseTask(opts)
	case "sort":
		return NewSortTask(opts)
	case "statquest":
		if opts != (TaskOptions{}) {
			return nil, errors.Wrapf(ErrInvalidArgument, "datasets: task statquest takes no options, got %+v", opts)
		}
		return NewStatQuestTask(), nil
	}
	return nil, errors.Wrapf(ErrUnknownTask, "datasets: task %q, want one of %v", name, TaskNames())
}

// Accuracy counts the scored positions where pred equals the target y. pred, y and
// scored must have equal lengths (ErrInvalidArgument).
func Accuracy(pred, y []int, scored []bool) (correct, total int, err error) {
	if len(pred) != len(y) || len(y) != len(scored) {
		return 0, 0, errors.Wrapf(ErrInvalidArgument, "datasets: accuracy: lengths %d (pred), %d (y), %d (scored) differ", len(pred), len(y), len(scored))
	}
	for i, s := range scored {
		if s {
			total++
			if pred[i] == y[i] {
				correct++
			}
		}
	}
	return correct, total, nil
}

// checkBatch validates the arguments common to every Task.Batch.
func checkBatch(name string, B, T int, x, y []int, scored []bool) error {
	if B < 1 {
		return errors.Wrapf(ErrInvalidArgument, "datasets: task %s: batch size %d, want ≥ 1", name, B)
	}
	n := B * T
	if len(x) != n || len(y) != n || len(scored) != n {
		return errors.Wrapf(ErrInvalidArgument, "datasets: task %s: buffers have lengths %d, %d, %d, want B·T = %d·%d = %d", name, len(x), len(y), len(scored), B, T, n)
	}
	return nil
}
