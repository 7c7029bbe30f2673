package gpt

import "math/rand/v2"

// GenerateRecompute is the uncached generation, for tests and benchmarks.
func GenerateRecompute(lm *LM, prompt []int, n int, temperature float64, topK int, rng *rand.Rand) ([]int, error) {
	return lm.generateRecompute(prompt, n, temperature, topK, rng)
}
