package gpt

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pkg/errors"
)

// SampleLogits picks a token index from unnormalised logits.
//
// temperature 0 is greedy decoding: the index of the largest logit, the lowest
// index among ties. Otherwise the draw follows softmax(logits/temperature),
// computed stably, restricted to the topK largest logits (topK ≤ 0 or
// ≥ len(logits) keeps all; on ties at the k-th value exactly k are kept,
// lower indices first), using exactly one rng.Float64().
//
// −Inf logits are allowed and get probability 0 (unless every kept logit is
// −Inf: then the kept ones are equally likely); +Inf logits share all the
// probability. Empty logits, NaN logits, a negative, NaN or infinite
// temperature, or a nil rng when sampling are errors.
func SampleLogits(logits []float64, temperature float64, topK int, rng *rand.Rand) (int, error) {
	if len(logits) == 0 {
		return 0, errors.New("gpt: SampleLogits: empty logits")
	}
	if !isFinite(temperature) || temperature < 0 {
		return 0, errors.Errorf("gpt: SampleLogits: temperature %v must be finite and ≥ 0", temperature)
	}
	best := 0
	for i, x := range logits {
		if math.IsNaN(x) {
			return 0, errors.Errorf("gpt: SampleLogits: logit %d is NaN", i)
		}
		if x > logits[best] {
			best = i
		}
	}
	if temperature == 0 {
		return best, nil
	}
	if rng == nil {
		return 0, errors.New("gpt: SampleLogits: nil rng")
	}

	kept := topKIndices(logits, topK) // ascending index order; nil: all of them
	n := len(logits)
	if kept != nil {
		n = len(kept)
	}
	top := logits[best] // the maximum is always kept
	weight := func(j int) (int, float64) {
		i := j
		if kept != nil {
			i = kept[j]
		}
		if logits[i] == top {
			return i, 1 // exp(0) for the maximum itself, also when it is ±Inf
		}
		// (x − max)/T ≤ 0 cannot overflow, unlike x/T − max/T.
		return i, math.Exp((logits[i] - top) / temperature)
	}
	total := 0.0
	for j := 0; j < n; j++ {
		_, w := weight(j)
		total += w
	}
	u := rng.Float64() * total
	last := 0 // the first kept index
	if kept != nil {
		last = kept[0]
	}
	for j := 0; j < n; j++ { // the same weights again: nothing allocated per draw
		i, w := weight(j)
		if w == 0 {
			continue
		}
		if u < w {
			return i, nil
		}
		u -= w
		last = i
	}
	// Only reachable through rounding: u landed past the last bucket.
	return last, nil
}

// topKIndices returns the indices of the k largest values in ascending index
// order, or nil when k keeps them all; ties at the k-th value are broken towards
// lower indices.
func topKIndices(x []float64, k int) []int {
	if k <= 0 || k >= len(x) {
		return nil
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] > x[b]:
			return -1
		case x[a] < x[b]:
			return 1
		}
		return 0
	})
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
