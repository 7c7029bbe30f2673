// Package train trains models: AdamW with decoupled weight decay on matrices only
// (Gorgonia's own AdamW never moves the weights), nanoGPT's warm-up-then-cosine learning
// rate, PyTorch's global-norm gradient clipping, a Trainer that runs steps, evaluates
// and reports tokens/s, and checkpoints in the safetensors format (package safetensors,
// whose NamedTensor, ErrCorrupt and ErrUnsupported train re-exports as aliases) that
// resume exactly.
//
// # Models
//
// A Trainer trains any Model: what a model must give is its learnables (with their
// gradients after a pass), a loss for a batch of integer inputs and targets, and an
// evaluation pass. GraphModel makes one from a Gorgonia graph the caller built (see
// Example_userModel, a one-layer attention classifier); gpt.LM, the GPT wired for
// training and generation, is one. This package knows no particular model, and the
// configuration a checkpoint carries (config.json) is the caller's: SaveCheckpoint and
// SaveModel write any JSON value, ReadConfig reads it back (train-toy's schema is
// cmd/train-toy/rundir).
//
// # Shapes
//
// Batches are Model.BatchLen() ids, row-major in flat []int slices; for a language model
// (B, T) token ids with targets shifted by one, −1 marking a position that is not scored.
//
// # Concurrency
//
// A Trainer, its Model's passes, the optimiser and loading a checkpoint run one graph and
// write its buffers or the weights: call them from one goroutine, and not while
// inference over the same weights runs (gpt.LM's Generate is safe for concurrent use
// with itself, not with training).
//
// # Errors
//
// Errors match the module's sentinels (package attend) with errors.Is: a bad recipe or
// argument attend.ErrArgument, a batch of the wrong size attend.ErrShape; data-dependent
// failures wrap finer sentinels that match attend.ErrData — a NaN or Inf loss or
// gradient (ErrNonFiniteLoss, ErrNonFinite), an unusable checkpoint (ErrCheckpoint; when
// its model or optimizer file is not well-formed safetensors the error also matches
// ErrCorrupt, or ErrUnsupported for a dtype the codec lacks). A stopped evaluation
// matches ErrEvalInterrupted. A step that fails changes neither the weights nor the
// optimiser. Nothing panics.
package train
