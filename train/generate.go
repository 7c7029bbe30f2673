package train

import (
	"math/rand/v2"

	"github.com/pkg/errors"
)

// Generate appends up to n tokens to prompt, each drawn from the model's next-token
// distribution with SampleLogits (temperature 0 is greedy; topK ≤ 0 keeps every token),
// and returns the new tokens only. It stops early after a token for which stop (if not
// nil) returns true, and includes that token.
func (lm *LM) Generate(prompt []int, n int, temperature float64, topK int, rng *rand.Rand, stop func(int) bool) ([]int, error) {
	if len(prompt) == 0 {
		return nil, errors.New("train: Generate: empty prompt")
	}
	if n < 0 {
		return nil, errors.Errorf("train: Generate: n = %d", n)
	}
	ctx := append([]int(nil), prompt...)
	var out []int
	for i := 0; i < n; i++ {
		logits, err := lm.NextLogits(ctx)
		if err != nil {
			return out, err
		}
		id, err := SampleLogits(logits, temperature, topK, rng)
		if err != nil {
			return out, errors.Wrap(err, "train: Generate")
		}
		ctx = append(ctx, id)
		out = append(out, id)
		if stop != nil && stop(id) {
			break
		}
	}
	return out, nil
}
