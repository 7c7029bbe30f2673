package gpt

// TrainFLOPs is the floating-point operations of one training step (forward and
// backward pass) on batch rows of BlockSize tokens, counted from the model's shapes as
// nanoGPT's estimate_mfu does (after PaLM's appendix B): per token, 6 per parameter —
// the position table excepted, which is looked up, not multiplied — plus 12·L·H·Q·T for
// the attention scores and their application (Q the head width, T the block size).
func (c Config) TrainFLOPs(batch int) float64 {
	c = c.withDefaults()
	n := float64(c.paramsNoPositions())
	attn := 12 * float64(c.Layers) * float64(c.Width) * float64(c.BlockSize) // 12·L·H·Q·T, H·Q = Width
	if c.NoAttention {
		attn = 0
	}
	return (6*n + attn) * float64(c.BlockSize) * float64(batch)
}

// paramsNoPositions counts the learnable numbers of the model c builds, the position
// table (BlockSize × Width) excepted.
func (c Config) paramsNoPositions() int {
	w, v := c.Width, c.Vocab
	bias := 0
	if c.Bias {
		bias = 1
	}
	ln := w + bias*w
	block := ln + (w*4*w + bias*4*w) + (4*w*w + bias*w) // ln_2, mlp.fc, mlp.proj
	if !c.NoAttention {
		block += ln + 4*(w*w+bias*w) // ln_1, wq, wk, wv, wo
	}
	n := v*w + c.Layers*block + ln // wte, blocks, ln_f
	if !c.Tied {
		n += w * v // lm_head, no bias
	}
	return n
}
