// Package train trains attend's GPT language models: the wiring of a model into training,
// evaluation and inference passes (LM), AdamW with decoupled weight decay on matrices only
// (Gorgonia's own AdamW never moves the weights), nanoGPT's warm-up-then-cosine learning
// rate, PyTorch's global-norm gradient clipping, a Trainer that runs steps, evaluates and
// reports tokens/s, checkpoints in the safetensors format that resume exactly, and
// sampling with temperature and top-k.
//
// # Shapes
//
// Batches are (B, T) token ids, row-major in flat []int slices; targets are the inputs
// shifted by one, with −1 marking a position that is not scored. Logits are (B, T, V).
//
// # Errors
//
// Bad configurations and inputs are errors naming the setting or the file; data-dependent
// failures — a NaN or Inf loss or gradient (ErrNonFiniteLoss, ErrNonFinite), an unusable
// checkpoint (ErrCheckpoint), a corrupt safetensors file (ErrCorrupt) — wrap sentinels
// matched with errors.Is. A step that fails changes neither the weights nor the optimiser.
// Nothing panics.
package train
