package train

import "math/rand/v2"

// SetAfterBackward makes t call f after each backward pass, before the gradients are
// clipped and applied: tests use it to poison gradients.
func SetAfterBackward(t *Trainer, f func()) { t.afterBackward = f }

// GenerateRecompute is the uncached generation, for tests and benchmarks.
func GenerateRecompute(lm *LM, prompt []int, n int, temperature float64, topK int, rng *rand.Rand) ([]int, error) {
	return lm.generateRecompute(prompt, n, temperature, topK, rng)
}

// SetSaveHook makes checkpoint saves call f before each step that changes the disk
// ("mkdir", "write model.safetensors", …, "rename", "sync slot", "clean"); nil removes it.
func SetSaveHook(f func(op string)) { saveHook = f }
