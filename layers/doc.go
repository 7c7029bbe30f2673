// Package layers holds attention layers as Gorgonia expression graphs: Linear,
// SelfAttention (causal, masked, multi-head, cross-attention), Embedding, LayerNorm,
// RMSNorm and MLP (nanoGPT's GELU block, Llama's SwiGLU, nanochat's ReLU²) — the parts
// models are built from. The GPT made of them is package gpt.
//
// A layer creates its learnables in the caller's *gorgonia.ExprGraph under dotted names
// (name.wq, blocks.0.attn.wq, …), exposes them as exported fields, and returns them in
// a fixed order from Learnables. It never creates a machine or calls gorgonia.Grad: the
// caller does, so layers embed in any graph and train with any optimiser.
//
// Architecture lives in config structs whose zero values are sensible defaults and which
// are validated at construction; dtype (float32 by default), seed and initialisation are
// functional options. Sizes are fixed at construction; nothing is built lazily.
//
// # Shapes
//
// Inputs are (T, D), as in the seed example, or batched (B, T, D). Attention weights are
// (B, H, T_q, T_k), B = 1 for 2-D inputs; SelfAttention runs on graph.FlashAttention,
// so they exist only in a program (or machine) that asks for them, never in training.
// Weight matrices act as x·W, so W is (in, out), the transpose of PyTorch's
// nn.Linear.weight.
//
// # Decoding
//
// SelfAttention.Attend with a graph.KVCache in its inputs builds the same attention over
// the positions after those the cache holds, appending their keys and values to it
// (causal attention aligned bottom-right). Models use it for their one forward pass with
// a cache (gpt.Model.ApplyCached, gpt.Decoder). Share builds a second graph over a
// model's existing weight tensors, as a decoder's is.
//
// # Concurrency
//
// Building layers, and running graphs built from them, are not safe for concurrent use:
// graph ops reuse their output buffers, so one graph runs on one goroutine at a time.
// Graphs built with Share over one model's weights (gpt.Decoder's) may run at once on
// different goroutines, as long as nothing writes the weights meanwhile (training,
// loading a checkpoint).
//
// # Errors
//
// Errors match the module's sentinels (package attend) with errors.Is: constructors'
// for impossible configurations wrap ErrConfig, which is attend.ErrArgument; forward
// functions' for inputs that do not fit wrap attend.ErrShape, attend.ErrDtype or
// attend.ErrArgument. Each is one line, wrapped once at the public function it left
// (attend.Wrap: a layer built inside another adds nothing), naming the layer or the
// dotted learnable ("blocks.1.mlp.fc.weight") and the shapes. Nothing panics.
package layers
