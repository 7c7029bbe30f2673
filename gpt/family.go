package gpt

import (
	"sort"
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
)

// families are the architectures Family names: each sets the options of its decoder on
// a config's sizes.
var families = map[string]func(Config) Config{
	// nanoGPT's GPT-2: learned positions, LayerNorm, GELU MLP, multi-head attention,
	// the head tied to the embedding.
	"gpt": func(c Config) Config {
		c.Norm, c.Pos, c.MLP, c.KVHeads, c.QKNorm, c.Windows, c.SoftCap = "", "", "", 0, false, "", 0
		c.Tied = true
		return c
	},
	// Llama 2/3: RMSNorm with a gain, RoPE θ = 10000 on interleaved pairs (Meta's
	// code), SwiGLU, grouped-query attention with half as many key/value heads, no
	// biases, an untied head.
	"llama": func(c Config) Config {
		c.Norm, c.Pos, c.RoPETheta, c.RoPEStyle, c.MLP = NormRMS, PosRoPE, 10000, "interleaved", layers.ActSwiGLU
		c.KVHeads = max(c.Heads/2, 1)
		c.Bias, c.Tied, c.QKNorm, c.Windows, c.SoftCap = false, false, false, "", 0
		return c
	},
	// nanochat: parameter-free RMSNorm, RoPE θ = 100000 on halves (its apply_rotary_emb), QK-norm,
	// ReLU², grouped-query attention, no biases, an untied head, sliding-window layers
	// "SSSL".
	"nanochat": func(c Config) Config {
		c.Norm, c.Pos, c.RoPETheta, c.RoPEStyle, c.MLP = NormRMSNoGain, PosRoPE, 100000, "half", layers.ActReLU2
		c.KVHeads = max(c.Heads/2, 1)
		c.QKNorm, c.Windows = true, "SSSL"
		c.Bias, c.Tied, c.SoftCap = false, false, 0
		return c
	},
}

// Families lists the names Family knows.
func Families() []string {
	var names []string
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Family returns base with the architecture of the named family ("gpt", "llama",
// "nanochat") set on its sizes (vocabulary, block, layers, heads, width; dropout as given).
func Family(name string, base Config) (Config, error) {
	f, ok := families[name]
	if !ok {
		return Config{}, errors.Wrapf(attend.ErrArgument, "gpt: unknown family %q; want one of %s", name, strings.Join(Families(), ", "))
	}
	return f(base), nil
}
