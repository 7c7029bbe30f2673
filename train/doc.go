// Package train trains attend's GPT language models: the wiring of a model into training,
// evaluation and inference passes (LM), AdamW with decoupled weight decay on matrices only
// (Gorgonia's own AdamW never moves the weights), nanoGPT's warm-up-then-cosine learning
// rate, PyTorch's global-norm gradient clipping, a Trainer that runs steps, evaluates and
// reports tokens/s, checkpoints in the safetensors format that resume exactly (written
// and read with package safetensors, whose NamedTensor, ErrCorrupt and ErrUnsupported
// train re-exports as aliases), and generation with a key/value cache, temperature and
// top-k.
//
// # Shapes
//
// Batches are (B, T) token ids, row-major in flat []int slices; targets are the inputs
// shifted by one, with −1 marking a position that is not scored. Logits are (B, T, V).
//
// # Concurrency
//
// LM.Generate, LM.NextLogits and LM.Attention are safe for concurrent use from any number
// of goroutines: each call decodes with a layers.Decoder of its own, taken from a pool
// (built on demand, kept for reuse), that reads the shared weight tensors and never
// writes them. Everything that trains or evaluates — LM.Backward, Evaluate,
// EvaluateStream, Trainer, the optimiser, loading a checkpoint — runs the one training
// graph and writes its buffers or the weights: call it from one goroutine, and not while
// inference calls run (generating while training, say, needs a copy of the model).
//
// # Errors
//
// Bad configurations and inputs are errors naming the setting or the file; data-dependent
// failures — a NaN or Inf loss or gradient (ErrNonFiniteLoss, ErrNonFinite), an unusable
// checkpoint (ErrCheckpoint; when its model or optimizer file is not well-formed
// safetensors the error also matches ErrCorrupt, or ErrUnsupported for a dtype the codec
// lacks), a corrupt safetensors file (ErrCorrupt) — wrap sentinels matched with
// errors.Is. A step that fails changes neither the weights nor the optimiser.
// Nothing panics.
package train
