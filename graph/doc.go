// Package graph holds the Gorgonia ops that attend's layers are built from and that
// Gorgonia v0.9.18 lacks or gets wrong, and a gradient checker for any Gorgonia graph.
//
// # Ops
//
//   - SoftMax and LogSoftMax over the last axis, with an optional 0/1 mask: stable for
//     every finite input (Gorgonia's own SoftMax returns NaN when a row's maximum is
//     below the tensor's first element); blocked entries are exactly 0 (−Inf in log
//     space) and a fully blocked row is all zeros with zero gradient.
//   - CrossEntropy of logits against integer targets, fused, with −1 as ignore index.
//   - Attention (AttentionWeights then ApplyWeights): multi-head scaled dot-product
//     attention with causal, mask and key-padding inputs, fused with a hand-written
//     backward pass; Scores gives the raw per-head similarities.
//   - FlashAttention: the same attention computed in tiles with an online softmax and a
//     backward pass that recomputes the scores, in memory linear in the sequence
//     lengths, with grouped- and multi-query heads, sliding windows, ALiBi, an additive
//     score bias with its gradient, masks and key padding (FlashOpts); FlashWeights
//     gives its weights on request; RoPE is rotary position embedding (two pairings).
//   - Decoding: with AttentionOpts.Cache, Attention appends its keys and values to a
//     KVCache and attends over the cached ones too (causal queries aligned with the last
//     keys); AddPositionsAt adds the position rows from the cache's length on. A graph
//     of the same layers thus runs one new token at a time. These have no gradient.
//   - The blocks of modern decoders, fused with hand-written backward passes: RMSNorm
//     (with or without a gain), SiLU, SwiGLU (silu(a) ⊙ b), ReLUSquared and SoftCap
//     (c·tanh(z/c), logit soft-capping), beside LayerNorm, GELU, Dropout and Embed.
//
// Each op is a gorgonia.Op with its own symbolic derivative, so gorgonia.Grad works
// through it, and each hashes every parameter that changes its result, so Gorgonia's
// node merging never confuses two of them.
//
// # Shapes
//
// Sequences are (T, C) or batched (B, T, C), row-major; heads are the H equal column
// blocks of C, as in PyTorch before its view/transpose, so no transpose is ever copied.
// Attention weights are (B, H, T_q, T_k), with B = 1 for 2-D inputs.
//
// # Masks
//
// Masks are input nodes (NewMask, filled by SetMask from []bool with true = blocked, the
// convention of PyTorch's boolean attn_mask), never constants, so they can change
// between runs and are never merged. CausalMask and KeyPaddingMask build the usual
// patterns.
//
// # Errors
//
// The module shares one set of sentinel errors (package attend: ErrShape, ErrDtype,
// ErrArgument, ErrData); this package's ErrShape, ErrDtype and ErrArgument are the same
// values. Building a node with bad input — nil nodes, wrong dims or sizes, mixed dtypes —
// returns an error wrapping one of them (match with errors.Is), in one line that says
// which function it left once ("graph: Dense: …", attend.Wrap) and names the nodes and
// shapes; nothing panics. Errors that depend on data, such as a target or an id outside
// the vocabulary (attend.ErrData), surface when the graph runs; under Gorgonia's
// machines, match them through Cause.
//
// # Gradient checking
//
// GradCheck compares gorgonia.Grad's gradients with central differences in float64 and
// reports each node's worst element; it works on any graph, not only attend's.
package graph
