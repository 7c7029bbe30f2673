// Package gpt is attend's GPT: a decoder-only Transformer as in nanoGPT (token and
// learned position embeddings, pre-LayerNorm blocks of causal multi-head self-attention
// and a GELU MLP, a final LayerNorm and a head tied to the embedding or not), made of
// package layers' layers, with nanoGPT's initialisation (New; InitLikeNanoGPT draws it
// from PyTorch's generator in nanoGPT's order), a memory estimate (Config.Memory,
// CheckMemory), the FLOPs of a training step (Config.TrainFLOPs), and LM, which wires a
// Model for training (an LM is a train.Model), evaluation and generation.
//
// Config's other fields build the decoders people train now from the same code: RMSNorm
// with or without a gain, rotary or ALiBi positions (or none), SwiGLU or ReLU² MLPs,
// grouped-query attention, QK-norm, per-layer sliding windows and logit soft-capping;
// Family sets Llama's or nanochat's choice of them. TestFamiliesMatchPyTorch checks each
// family's loss and gradients against an independent PyTorch model.
//
// # One forward pass
//
// There is one definition of the model. Model.Forward and Model.Apply build it over a
// whole (B, T) batch; Model.ApplyCached builds the same code over the positions after
// those held in a graph.KVCache, whose length gives the positions and whose stores give
// each attention layer its earlier keys and values (causal attention aligned
// bottom-right: fewer queries than keys). Decoder compiles that pass twice, over one
// window and over one token, as graph.Programs, and feeds them tokens; its logits equal
// the full pass's (float64 within 1e-12, float32 within 1e-5: TestDecoderMatchesRecompute).
// Model.BlockInput gives the residual stream entering a block, for tools that look
// inside one (train-toy explain).
//
// # Concurrency
//
// Building a model, and running the training graph, are not safe for concurrent use.
// LM.Generate, NextLogits and Attention are: each call decodes with a Decoder of its
// own, from a pool, over the model's weight tensors, which it only reads. One Decoder is
// not safe for concurrent use; several of one model may run at once as long as nothing
// writes the weights meanwhile (training, loading a checkpoint).
//
// # Errors
//
// Errors match the module's sentinels (package attend) with errors.Is: an impossible
// configuration attend.ErrArgument (layers.ErrConfig is the same value), an input that
// does not fit attend.ErrShape, a token outside the vocabulary attend.ErrData. Each is
// one line, wrapped once, at the innermost public function it left (attend.Wrap), and
// names the dotted learnable or node: a failure deep in a GPT's construction reads
// `layers: no float32 value [8 32] for "blocks.1.mlp.fc.weight" to share: bad
// argument`, not a chain of every block and layer it passed through. Nothing panics.
package gpt
