// Package datasets provides the data side of attend: tokenizers, text corpora, a
// resumable batch sampler and small synthetic next-token tasks. It is pure Go and does
// not depend on Gorgonia; everything it produces is plain []int token ids and []bool
// masks that the trainer copies into tensors.
//
// # Shape convention
//
// A batch holds B sequences of T tokens (T is the block size). Inputs x, targets y and
// masks are flat row-major slices of length B·T: element (b, t) is at index b*T + t.
// Targets are the inputs shifted left by one position, y[b][t] = data[i_b+t+1], so a
// model reading x[b][0..t] is trained to predict y[b][t]. Positions whose target must be
// ignored by the loss hold IgnoreIndex (-1) in y and false in the scored mask.
//
// Buffers are supplied by the caller (Sampler.Next, Task.Batch) so that a training loop
// allocates nothing per step.
//
// # Randomness and resuming
//
// Sampler owns a math/rand/v2 PCG source seeded by the caller; State and SetState save
// and restore it exactly, so a resumed run draws the same batches as an uninterrupted
// one. Task.Batch takes the caller's *rand.Rand; a trainer that wants exact resume
// builds it from its own *rand.PCG and saves that with MarshalBinary.
//
// NanoGPTStream instead draws from a torchrand.Generator (PyTorch's CPU generator) the
// way nanoGPT's train.py draws from torch's: one generator for the training batches
// (prefetched one ahead) and the evaluation batches of both splits. Started from the
// generator that initialised the model (gpt.Model.InitLikeNanoGPT), it repeats
// nanoGPT's run at the same seed. Its batchers' State saves the whole stream.
//
// # Error policy
//
// Nothing in this package panics or prints. Both kinds of failure are returned as
// errors wrapped with context (github.com/pkg/errors) around a sentinel that callers
// match with errors.Is; each of this package's sentinels is, or matches, one of the
// module's (package attend):
//
//   - misuse by the caller, such as a non-positive batch size or a buffer of the wrong
//     length, wraps ErrInvalidArgument, which is attend.ErrArgument (as does
//     ErrUnknownTask);
//   - data-dependent failures name the offending input: an unknown symbol and its byte
//     offset (ErrUnknownSymbol), an id outside the vocabulary (ErrIDOutOfRange), a file
//     that is empty (ErrEmpty), binary (ErrBinary) or not UTF-8 (ErrInvalidUTF8, with
//     the byte offset), a split shorter than block+1 tokens (ErrTooShort), a malformed
//     saved vocabulary (ErrBadVocab), a file that is not regular or too large
//     (ErrNotRegular, ErrTooLarge); all of these match attend.ErrData.
package datasets
