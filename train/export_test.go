package train

// SetAfterBackward makes t call f after each backward pass, before the gradients are
// clipped and applied: tests use it to poison gradients.
func SetAfterBackward(t *Trainer, f func()) { t.afterBackward = f }

// SetSaveHook makes checkpoint saves call f before each step that changes the disk
// ("mkdir", "write model.safetensors", …, "rename", "sync slot", "clean"); nil removes it.
func SetSaveHook(f func(op string)) { saveHook = f }
