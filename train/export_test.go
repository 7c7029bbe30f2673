package train

// SetAfterBackward makes t call f after each backward pass, before the gradients are
// clipped and applied: tests use it to poison gradients.
func SetAfterBackward(t *Trainer, f func()) { t.afterBackward = f }
