package gpt

import (
	"math/rand/v2"

	"github.com/attend-go/attend"
	"github.com/pkg/errors"
)

// Generate appends up to n tokens to prompt, each drawn from the model's next-token
// distribution with SampleLogits (temperature 0 is greedy; topK ≤ 0 keeps every token),
// and returns the new tokens only. It stops early after a token for which stop (if not
// nil) returns true, and includes that token. It decodes with a key/value cache
// (Decoder), so each token costs one position's work, not the context's. Once
// the context is longer than the block size it sees the last BlockSize tokens, as nanoGPT
// crops it; every such token shifts the positions of the whole window, so from then on
// each token takes a forward pass over the window. Safe for concurrent use (see LM).
func (lm *LM) Generate(prompt []int, n int, temperature float64, topK int, rng *rand.Rand, stop func(int) bool) ([]int, error) {
	if len(prompt) == 0 {
		return nil, errors.New("gpt: Generate: empty prompt")
	}
	if n < 0 {
		return nil, errors.Errorf("gpt: Generate: n = %d", n)
	}
	dec, err := lm.decoder()
	if err != nil {
		return nil, err
	}
	defer lm.decoders.Put(dec)
	logits, err := dec.Feed(prompt)
	if err != nil {
		return nil, attend.Wrap(err, "gpt: Generate")
	}
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		id, err := SampleLogits(logits, temperature, topK, rng)
		if err != nil {
			return out, attend.Wrap(err, "gpt: Generate")
		}
		out = append(out, id)
		if stop != nil && stop(id) || i == n-1 {
			break
		}
		if logits, err = dec.Next(id); err != nil {
			return out, attend.Wrap(err, "gpt: Generate")
		}
	}
	return out, nil
}

// generateRecompute is Generate without the cache: a full forward pass of the graph over
// the (cropped) context for every token. Kept to measure the cache against.
func (lm *LM) generateRecompute(prompt []int, n int, temperature float64, topK int, rng *rand.Rand) ([]int, error) {
	ctx := append([]int(nil), prompt...)
	var out []int
	for i := 0; i < n; i++ {
		logits, err := lm.NextLogits(ctx)
		if err != nil {
			return out, err
		}
		id, err := SampleLogits(logits, temperature, topK, rng)
		if err != nil {
			return out, err
		}
		ctx = append(ctx, id)
		out = append(out, id)
	}
	return out, nil
}
