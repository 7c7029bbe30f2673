// Package layers holds attention layers as Gorgonia expression graphs: Linear,
// SelfAttention (causal, masked, multi-head, cross-attention) and the GPT building blocks.
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
// (B, H, T_q, T_k), B = 1 for 2-D inputs. Weight matrices act as x·W, so W is (in, out),
// the transpose of PyTorch's nn.Linear.weight.
//
// # Decoding
//
// There is one forward pass per model. GPT.Forward and GPT.Apply build it over a whole
// (B, T) batch; GPT.ApplyCached builds the same layers' code over the positions after
// those held in a graph.KVCache, whose length gives the positions and whose stores give
// each attention layer its earlier keys and values. Decoder compiles that pass over one
// window and over one token and feeds them tokens; its logits equal the full pass's to
// rounding.
//
// # Concurrency
//
// Building layers, and running graphs built from them, are not safe for concurrent use:
// graph ops reuse their output buffers, so one graph runs on one goroutine at a time.
// Decoders are the exception that allows parallel inference: each has a graph and a
// cache of its own over the model's weight tensors, so several Decoders of one model
// may run at once on different goroutines (one Decoder is not safe for concurrent use),
// as long as nothing writes the weights meanwhile (training, loading a checkpoint).
//
// # Errors
//
// Constructors return errors wrapping ErrConfig for impossible configurations; forward
// functions return errors wrapping graph.ErrShape, graph.ErrDtype or graph.ErrArgument
// for inputs that do not fit. Each names the layer and the shapes. Nothing panics.
package layers
