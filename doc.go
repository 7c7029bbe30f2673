// Package attend holds what every package of the module shares: its sentinel errors.
//
// The module's packages, from the bottom up:
//
//   - graph: Gorgonia ops that Gorgonia lacks or gets wrong (fused attention, softmax,
//     GELU, LayerNorm, cross-entropy, dropout, the key/value cache), masks, GradCheck and
//     Program, which runs a graph without Gorgonia's machines.
//   - layers: Linear, SelfAttention (causal, masked, multi-head, cross), Embedding,
//     LayerNorm and MLP, as learnables in the caller's graph.
//   - gpt: the GPT (nanoGPT's architecture and initialisation) made of those layers, its
//     one forward pass for training, evaluation and key/value-cache decoding, and LM,
//     which wires it for training and generation.
//   - train: AdamW, the learning-rate schedule, clipping, a Trainer over any Model (a
//     small interface; GraphModel makes one from a graph), evaluation and checkpoints.
//   - safetensors: the checkpoint file format. datasets: tokenizers, corpora, batch
//     sampling and synthetic tasks. torchrand: PyTorch's CPU random generator.
//   - cmd/train-toy: the command, with its run-directory schema in cmd/train-toy/rundir.
//
// # Errors
//
// Every error for bad input matches one of ErrShape, ErrDtype, ErrArgument or ErrData
// with errors.Is, whichever package returned it, and is one line: wrapped once, at the
// public function it left (see Wrap), naming the dotted node (blocks.0.mlp.fc.weight)
// and the shapes or values that were wrong.
package attend
