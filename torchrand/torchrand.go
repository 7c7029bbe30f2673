// Package torchrand reproduces PyTorch's CPU random streams: the MT19937 generator that
// torch.manual_seed seeds, and the way torch.randint, Tensor.uniform_ and Tensor.normal_
// (float32 tensors, as in a default-dtype PyTorch model) turn its output into numbers.
//
// A Go program that draws from a Generator in the same order as a PyTorch script draws
// from torch's default CPU generator gets the same integers exactly and the same float32
// values to within a few ulps (PyTorch's normal_ uses vectorised approximations of log,
// sin and cos, which this package does not copy). attend uses it to start a model from the weights nanoGPT's GPT gets
// after torch.manual_seed(seed) and to draw nanoGPT's batches, so that a run and
// nanoGPT's run at the same seed can be compared step for step.
//
// The code follows ATen (torch 1.13 to 2.x): at::mt19937 (ATen/core/MT19937RNGEngine.h),
// CPUGeneratorImpl's random and random64, and the uniform_int_from_to, uniform_real and
// normal_fill transformations (ATen/core/TransformationHelper.h,
// ATen/native/cpu/DistributionTemplates.h).
package torchrand

import (
	"encoding/binary"
	"math"

	"github.com/pkg/errors"
)

const (
	stateN  = 624
	stateM  = 397
	matrixA = 0x9908b0df
	upper   = 0x80000000
	lower   = 0x7fffffff
)

// Generator is torch's CPU generator: MT19937 plus the cached second Box–Muller sample
// that normal_distribution<double> keeps between calls. The zero value is not seeded; use
// New or Seed.
type Generator struct {
	state      [stateN]uint32
	left, next int
	// nextNormal holds the second value of the last Box–Muller pair drawn by the
	// element-wise normal path (tensors of fewer than 16 elements), if any.
	nextNormal    float64
	hasNextNormal bool
}

// New returns a generator seeded as torch.manual_seed(seed) seeds torch's CPU generator.
func New(seed uint64) *Generator {
	g := &Generator{}
	g.Seed(seed)
	return g
}

// Seed resets g as torch.manual_seed(seed) does (only the low 32 bits of seed count,
// as in torch).
func (g *Generator) Seed(seed uint64) {
	g.state[0] = uint32(seed)
	for j := 1; j < stateN; j++ {
		g.state[j] = 1812433253*(g.state[j-1]^(g.state[j-1]>>30)) + uint32(j)
	}
	g.left, g.next = 1, 0
	g.nextNormal, g.hasNextNormal = 0, false
}

func twist(u, v uint32) uint32 {
	y := ((u & upper) | (v & lower)) >> 1
	if v&1 != 0 {
		y ^= matrixA
	}
	return y
}

func (g *Generator) nextState() {
	s := &g.state
	for j := 0; j < stateN-stateM; j++ {
		s[j] = s[j+stateM] ^ twist(s[j], s[j+1])
	}
	for j := stateN - stateM; j < stateN-1; j++ {
		s[j] = s[j+stateM-stateN] ^ twist(s[j], s[j+1])
	}
	s[stateN-1] = s[stateM-1] ^ twist(s[stateN-1], s[0])
	g.left, g.next = stateN, 0
}

// Random returns the next 32-bit output (CPUGeneratorImpl::random).
func (g *Generator) Random() uint32 {
	g.left--
	if g.left == 0 {
		g.nextState()
	}
	y := g.state[g.next]
	g.next++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Random64 returns two outputs joined, the first in the high half
// (CPUGeneratorImpl::random64).
func (g *Generator) Random64() uint64 {
	hi := g.Random()
	lo := g.Random()
	return uint64(hi)<<32 | uint64(lo)
}

// RandInt returns one value of torch.randint(high) (int64 tensors): Random() % high when
// high < 2³², Random64() % high otherwise. high ≤ 0 is an error (torch raises one too)
// and draws nothing.
func (g *Generator) RandInt(high int64) (int64, error) {
	if high <= 0 {
		return 0, errors.Errorf("torchrand: RandInt: high %d, want > 0", high)
	}
	if uint64(high) >= 1<<32 {
		return int64(g.Random64() % uint64(high)), nil
	}
	return int64(uint64(g.Random()) % uint64(high)), nil
}

// Uniform32 returns one float32 value of Tensor.uniform_(from, to): 24 random bits
// scaled to [0, 1), then x·(to−from) + from rounded once (PyTorch's build fuses the
// multiply-add).
func (g *Generator) Uniform32(from, to float32) float32 {
	x := float64(g.Random()&(1<<24-1)) * (1.0 / (1 << 24))
	return float32(x*float64(to-from) + float64(from)) // the product is exact in float64
}

// UniformFill32 fills dst as Tensor.uniform_(from, to) fills a contiguous float32
// tensor, one draw per element in order. nn.Linear's default (Kaiming-uniform) weight
// initialisation is UniformFill32(w, −b, b) with b = 1/√fan_in.
func (g *Generator) UniformFill32(dst []float32, from, to float32) {
	for i := range dst {
		dst[i] = g.Uniform32(from, to)
	}
}

// Uniform64 returns one float64 value of uniform_real_distribution<double>: 53 bits
// of Random64 scaled to [0, 1), then x·(to−from) + from.
func (g *Generator) Uniform64(from, to float64) float64 {
	x := float64(g.Random64()&(1<<53-1)) * (1.0 / (1 << 53))
	return x*(to-from) + from
}

// NormalFill32 fills dst as Tensor.normal_(mean, std) fills a contiguous float32 tensor.
// With 16 or more elements (normal_fill): one uniform per element first, then Box–Muller
// on blocks of 16 (the first 8 values pair with the last 8); when the length is not a
// multiple of 16 the last 16 elements are drawn again and recomputed. With fewer than 16
// elements each value comes from normal_distribution<double>, which draws a pair every
// second call and keeps the other half in the generator.
func (g *Generator) NormalFill32(dst []float32, mean, std float32) {
	n := len(dst)
	if n < 16 {
		for i := range dst {
			dst[i] = float32(g.normal64()*float64(std) + float64(mean))
		}
		return
	}
	for i := range dst {
		dst[i] = g.Uniform32(0, 1)
	}
	for i := 0; i+16 <= n; i += 16 {
		normalFill16(dst[i:i+16], mean, std)
	}
	if n%16 != 0 {
		tail := dst[n-16:]
		for i := range tail {
			tail[i] = g.Uniform32(0, 1)
		}
		normalFill16(tail, mean, std)
	}
}

// normalFill16 is ATen's normal_fill_16 on float: u1 = 1 − data[j] (so log sees (0, 1]),
// u2 = data[j+8], radius √(−2 log u1), angle 2π·u2.
func normalFill16(d []float32, mean, std float32) {
	for j := 0; j < 8; j++ {
		u1 := 1 - d[j]
		u2 := d[j+8]
		radius := float32(math.Sqrt(float64(-2 * float32(math.Log(float64(u1))))))
		theta := float32(2*math.Pi) * u2 // in float32, as PyTorch's AVX2 kernel computes it
		d[j] = radius*float32(math.Cos(float64(theta)))*std + mean
		d[j+8] = radius*float32(math.Sin(float64(theta)))*std + mean
	}
}

// normal64 is at::normal_distribution<double> with mean 0 and std 1.
func (g *Generator) normal64() float64 {
	if g.hasNextNormal {
		g.hasNextNormal = false
		return g.nextNormal
	}
	u1 := g.Uniform64(0, 1)
	u2 := g.Uniform64(0, 1)
	r := math.Sqrt(-2 * math.Log1p(-u2))
	theta := 2 * math.Pi * u1
	g.nextNormal, g.hasNextNormal = r*math.Sin(theta), true
	return r * math.Cos(theta)
}

// stateSize is the length of MarshalBinary's output: a version byte, the 624 state words,
// left and next, the cached-normal flag and value.
const stateSize = 1 + 4*stateN + 4 + 4 + 1 + 8

// MarshalBinary returns g's complete state.
func (g *Generator) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, stateSize)
	b = append(b, 1)
	for _, w := range g.state {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(g.left))
	b = binary.LittleEndian.AppendUint32(b, uint32(g.next))
	flag := byte(0)
	if g.hasNextNormal {
		flag = 1
	}
	b = append(b, flag)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(g.nextNormal))
	return b, nil
}

// UnmarshalBinary restores a state saved by MarshalBinary. A malformed state is an error
// and leaves g unchanged.
func (g *Generator) UnmarshalBinary(b []byte) error {
	if len(b) != stateSize {
		return errors.Errorf("torchrand: generator state has %d bytes, want %d", len(b), stateSize)
	}
	if b[0] != 1 {
		return errors.Errorf("torchrand: generator state version %d, want 1", b[0])
	}
	var s Generator
	p := b[1:]
	for i := range s.state {
		s.state[i] = binary.LittleEndian.Uint32(p[4*i:])
	}
	p = p[4*stateN:]
	left, next := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:])
	// Random decrements left first and refreshes the state when it reaches 0, so
	// 1 ≤ left ≤ 624 and next + left = 625 except right after seeding (left 1, next 0).
	if left < 1 || left > stateN || next > stateN || (next+left != stateN+1 && !(left == 1 && next == 0)) {
		return errors.Errorf("torchrand: generator state has position (left %d, next %d), not one MT19937 reaches", left, next)
	}
	s.left, s.next = int(left), int(next)
	switch p[8] {
	case 0:
	case 1:
		s.hasNextNormal = true
	default:
		return errors.Errorf("torchrand: generator state has cached-normal flag %d, want 0 or 1", p[8])
	}
	s.nextNormal = math.Float64frombits(binary.LittleEndian.Uint64(p[9:]))
	if math.IsNaN(s.nextNormal) || math.IsInf(s.nextNormal, 0) {
		return errors.New("torchrand: generator state has a non-finite cached normal")
	}
	*g = s
	return nil
}
