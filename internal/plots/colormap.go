package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
)

// blues is a sequential colour map from near-white (low) to dark blue (high), the
// control colours of ColorBrewer's "Blues", interpolated linearly in sRGB.
type blues struct {
	min, max, alpha float64
}

var _ palette.ColorMap = (*blues)(nil)

var bluesStops = []color.RGBA{
	{0xf7, 0xfb, 0xff, 0xff}, {0xde, 0xeb, 0xf7, 0xff}, {0xc6, 0xdb, 0xef, 0xff},
	{0x9e, 0xca, 0xe1, 0xff}, {0x6b, 0xae, 0xd6, 0xff}, {0x42, 0x92, 0xc6, 0xff},
	{0x21, 0x71, 0xb5, 0xff}, {0x08, 0x51, 0x9c, 0xff}, {0x08, 0x30, 0x6b, 0xff},
}

func newBlues(min, max float64) *blues { return &blues{min: min, max: max, alpha: 1} }

// At returns the colour of v in [Min, Max].
func (b *blues) At(v float64) (color.Color, error) {
	switch {
	case math.IsNaN(v):
		return nil, palette.ErrNaN
	case v < b.min:
		return nil, palette.ErrUnderflow
	case v > b.max:
		return nil, palette.ErrOverflow
	}
	t := 0.0
	if b.max > b.min {
		t = (v - b.min) / (b.max - b.min)
	}
	return b.at(t), nil
}

// at returns the colour at t in [0, 1].
func (b *blues) at(t float64) color.Color {
	f := t * float64(len(bluesStops)-1)
	i := min(int(f), len(bluesStops)-2)
	f -= float64(i)
	lo, hi := bluesStops[i], bluesStops[i+1]
	mix := func(a, b uint8) float64 { return float64(a) + f*(float64(b)-float64(a)) }
	a := 255 * b.alpha
	// color.NRGBA would be simpler but the plot's image backends expect premultiplied RGBA.
	return color.RGBA{
		R: uint8(math.Round(mix(lo.R, hi.R) * b.alpha)),
		G: uint8(math.Round(mix(lo.G, hi.G) * b.alpha)),
		B: uint8(math.Round(mix(lo.B, hi.B) * b.alpha)),
		A: uint8(math.Round(a)),
	}
}

func (b *blues) SetMax(v float64)       { b.max = v }
func (b *blues) SetMin(v float64)       { b.min = v }
func (b *blues) Max() float64           { return b.max }
func (b *blues) Min() float64           { return b.min }
func (b *blues) SetAlpha(alpha float64) { b.alpha = math.Max(0, math.Min(1, alpha)) }
func (b *blues) Alpha() float64         { return b.alpha }

// Palette returns n colours evenly spaced over the map.
func (b *blues) Palette(n int) palette.Palette {
	cs := make(bluesPalette, n)
	for i := range cs {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		cs[i] = b.at(t)
	}
	return cs
}

type bluesPalette []color.Color

func (p bluesPalette) Colors() []color.Color { return p }
