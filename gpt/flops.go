package gpt

import "github.com/attend-go/attend/layers"

// TrainFLOPs is the floating-point operations of one training step (forward and
// backward pass) on batch rows of BlockSize tokens, counted from the model's shapes as
// nanoGPT's estimate_mfu does (after PaLM's appendix B): per token, 6 per parameter —
// the position table excepted, which is looked up, not multiplied — plus 12·L·H·Q·T for
// the attention scores and their application (Q the head width, T the block size).
func (c Config) TrainFLOPs(batch int) float64 {
	c = c.withDefaults()
	var a arith
	n := float64(c.params(&a, false))
	attn := 12 * float64(c.Layers) * float64(c.Width) * float64(c.BlockSize) // 12·L·H·Q·T, H·Q = Width
	if c.NoAttention {
		attn = 0
	}
	return (6*n + attn) * float64(c.BlockSize) * float64(batch)
}

// params counts the learnable numbers of the model c (with defaults) builds, the
// position table included when withPositions, in a's checked arithmetic.
func (c Config) params(a *arith, withPositions bool) int64 {
	w, v, t := int64(c.Width), int64(c.Vocab), int64(c.BlockSize)
	kv := w / int64(c.Heads) * int64(c.KVHeads) // keys' and values' width
	hid := int64(c.MLPHidden)
	var bias, gain int64
	if c.Bias {
		bias = 1
	}
	if c.Norm != NormRMSNoGain {
		gain = 1
	}
	norm := gain*w + bias*w
	if c.Norm != NormLayer {
		norm = gain * w // RMSNorm has no bias
	}
	mlpIn := int64(1)
	if c.MLP == layers.ActSwiGLU {
		mlpIn = 2 // gate and up
	}
	block := a.add(norm, a.mul(mlpIn, a.add(a.mul(w, hid), bias*hid)), a.mul(hid, w), bias*w) // ln_2, mlp
	if !c.NoAttention {
		block = a.add(block, norm, a.mul(2, a.add(a.mul(w, w), bias*w)), a.mul(2, a.add(a.mul(w, kv), bias*kv))) // ln_1, wq, wo, wk, wv
	}
	n := a.add(a.mul(v, w), a.mul(int64(c.Layers), block), norm) // wte, blocks, ln_f
	if !c.Tied {
		n = a.add(n, a.mul(w, v)) // lm_head, no bias
	}
	if withPositions && c.Pos == PosLearned {
		n = a.add(n, a.mul(t, w))
	}
	return n
}
