package gpt_test

import (
	"fmt"
	"testing"

	"github.com/attend-go/attend/gpt"
	G "gorgonia.org/gorgonia"
)

// TrainFLOPs counts the parameters of the model a config builds (less the position
// table) from the shapes alone: checked against the built model's NumParams for every
// option, and nanoGPT's figure for its CPU preset.
func TestTrainFLOPs(t *testing.T) {
	for _, c := range []gpt.Config{
		{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true},
		{Vocab: 11, BlockSize: 5, Layers: 2, Heads: 2, Width: 8, Bias: true},
		{Vocab: 7, BlockSize: 3, Width: 4, NoAttention: true},
		{Vocab: 9, BlockSize: 6, Layers: 3, Heads: 1, Width: 6, Tied: true, Bias: true},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			m, err := gpt.New(G.NewGraph(), c)
			if err != nil {
				t.Fatal(err)
			}
			n := m.NumParams() - c.BlockSize*c.Width
			d := m.Config
			attn := 12 * d.Layers * d.Width * d.BlockSize
			if c.NoAttention {
				attn = 0
			}
			want := float64((6*n + attn) * c.BlockSize * 3)
			if got := c.TrainFLOPs(3); got != want {
				t.Errorf("TrainFLOPs(3) = %v; want %v (%d parameters less positions)", got, want, n)
			}
		})
	}
	// nanoGPT's CPU run: 0.80M parameters; without positions wte 65·128 + 4 blocks of
	// (2·128 + 12·128²) + ln_f 128 = 795,904; block 64, batch 12.
	c := gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}
	if got, want := c.TrainFLOPs(12), (6*795904.0+12*4*128*64)*64*12; got != want {
		t.Errorf("nanogpt-cpu TrainFLOPs = %v; want %v", got, want)
	}
}
