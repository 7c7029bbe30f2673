package train

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
		return 0, errors.New("train: SampleLogits: empty logits")
	}
	if !isFinite(temperature) || temperature < 0 {
		return 0, errors.Errorf("train: SampleLogits: temperature %v must be finite and ≥ 0", temperature)
	}
	best := 0
	for i, x := range logits {
		if math.IsNaN(x) {
			return 0, errors.Errorf("train: SampleLogits: logit %d is NaN", i)
		}
		if x > logits[best] {
			best = i
		}
	}
	if temperature == 0 {
		return best, nil
	}
	if rng == nil {
		return 0, errors.New("train: SampleLogits: nil rng")
	}

	kept := topKIndices(logits, topK) // ascending index order
	top := logits[best]               // the maximum is always kept
	weights := make([]float64, len(kept))
	total := 0.0
	for j, i := range kept {
		w := 1.0 // exp(0) for the maximum itself, also when it is ±Inf
		if logits[i] != top {
			// (x − max)/T ≤ 0 cannot overflow, unlike x/T − max/T.
			w = math.Exp((logits[i] - top) / temperature)
		}
		weights[j] = w
		total += w
	}
	u := rng.Float64() * total
	last := 0
	for j, w := range weights {
		if w == 0 {
			continue
		}
		if u < w {
			return kept[j], nil
		}
		u -= w
		last = j
	}
	// Only reachable through rounding: u landed past the last bucket.
	return kept[last], nil
}

// topKIndices returns the indices of the k largest values in ascending index
// order; ties at the k-th value are broken towards lower indices.
func topKIndices(x []float64, k int) []int {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	if k <= 0 || k >= len(x) {
		return idx
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
