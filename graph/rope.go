package graph

import (
	"fmt"
	"hash/fnv"
	"math"

	"github.com/attend-go/attend/internal/num"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// RoPEStyle is how rotary position embedding pairs the dimensions of a head.
type RoPEStyle int

const (
	// RoPEInterleaved rotates the pairs (2m, 2m+1): Meta's Llama reference code and
	// the RoFormer paper.
	RoPEInterleaved RoPEStyle = iota
	// RoPEHalf rotates the pairs (m, m + d/2): GPT-NeoX and Hugging Face's rotate_half.
	RoPEHalf
)

// String names the style as the golden cases do: "interleaved" or "half".
func (s RoPEStyle) String() string {
	switch s {
	case RoPEInterleaved:
		return "interleaved"
	case RoPEHalf:
		return "half"
	}
	return fmt.Sprintf("RoPEStyle(%d)", int(s))
}

// RoPEOpts are the settings of RoPE.
type RoPEOpts struct {
	// HeadDim is the width d of one head: x's width splits into blocks of d columns,
	// each rotated alike. It must be even and divide x's width.
	HeadDim int
	// Theta is the base of the frequencies θ^(−2m/d), m = 0 … d/2 − 1. Zero means
	// 10000.
	Theta float64
	// Style picks the pairing of dimensions.
	Style RoPEStyle
	// Offset is the position of x's first row (row t is at Offset + t), e.g. T_k − T_q
	// for the queries of a decoding step over cached keys.
	Offset int
	// Positions, when not nil, gives the position of every row instead (len T).
	Positions []int
	// Cache, when not nil, adds the cache's Len, read when the op runs, to every
	// position: x holds the positions after the cached ones (decoding).
	Cache *KVCache
}

// RoPE applies rotary position embedding (Su et al., RoFormer) to x (T, C) or (B, T, C):
// in every head block of HeadDim columns of the row at position p, each pair (a, b) of
// dimensions (see RoPEStyle) becomes (a·cos φ − b·sin φ, a·sin φ + b·cos φ) with
// φ = p · Theta^(−2m/HeadDim) for the m-th pair. Applied to queries and keys, it makes
// their dot products depend on the positions only through their difference. Its
// gradient is the inverse rotation.
func RoPE(x *G.Node, o RoPEOpts) (*G.Node, error) {
	wrap := func(err error) error { return errors.Wrap(err, "graph: RoPE") }
	if err := checkFloat(x, "x"); err != nil {
		return nil, wrap(err)
	}
	xs := x.Shape()
	if xs.Dims() != 2 && xs.Dims() != 3 {
		return nil, wrap(errors.Wrapf(ErrShape, "x %q is %v; want (T, C) or (B, T, C)", x.Name(), xs))
	}
	_, t, c := seqDims(xs)
	if o.HeadDim < 2 || o.HeadDim%2 != 0 || c%o.HeadDim != 0 {
		return nil, wrap(errors.Wrapf(ErrArgument, "head width %d for x %q %v; want an even width ≥ 2 dividing %d", o.HeadDim, x.Name(), xs, c))
	}
	if o.Style != RoPEInterleaved && o.Style != RoPEHalf {
		return nil, wrap(errors.Wrapf(ErrArgument, "style %v", o.Style))
	}
	if o.Theta == 0 {
		o.Theta = 10000
	}
	if math.IsNaN(o.Theta) || math.IsInf(o.Theta, 0) || o.Theta <= 0 {
		return nil, wrap(errors.Wrapf(ErrArgument, "theta = %v; want a finite value > 0", o.Theta))
	}
	if o.Positions != nil && len(o.Positions) != t {
		return nil, wrap(errors.Wrapf(ErrShape, "%d positions for the %d rows of x %q %v", len(o.Positions), t, x.Name(), xs))
	}
	build, err := byDtype(x.Dtype(), ropeOp[float64], ropeOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	y, err := build(x, o, 1)
	return y, wrap(err)
}

// ropeOp builds the rotation of x by sign · φ (sign −1: the gradient's inverse rotation).
func ropeOp[T num.Float](x *G.Node, o RoPEOpts, sign float64) (*G.Node, error) {
	xs := x.Shape()
	b, t, c := seqDims(xs)
	a := hm.TypeVariable('a')
	name := fmt.Sprintf("attend.RoPE{d:%d, theta:%v, style:%v, offset:%d, sign:%v", o.HeadDim, o.Theta, o.Style, o.Offset, sign)
	if o.Positions != nil {
		h := fnv.New64a()
		fmt.Fprint(h, o.Positions)
		name += fmt.Sprintf(", positions:%x", h.Sum64())
	}
	if o.Cache != nil {
		name += fmt.Sprintf(", cache:%d", o.Cache.id)
	}
	op := &op{
		name:    name + "}",
		arity:   1,
		typ:     hm.NewFnType(tensorType(xs.Dims(), a), tensorType(xs.Dims(), a)),
		shape:   xs.Clone(),
		diffWRT: []bool{true},
		elem:    dtypeOf[T](),
	}
	half := o.HeadDim / 2
	inv := make([]float64, half)
	for m := range inv {
		inv[m] = math.Pow(o.Theta, -float64(2*m)/float64(o.HeadDim))
	}
	cos, sin := make([]T, t*half), make([]T, t*half)
	last := -1 // the cache length the tables were made for (-1: none yet)
	op.do = func(in []G.Value) (G.Value, error) {
		vals, err := op.denses(in)
		if err != nil {
			return nil, err
		}
		base := 0
		if o.Cache != nil {
			base = o.Cache.n
		}
		if base != last {
			for r := 0; r < t; r++ {
				p := o.Offset + r
				if o.Positions != nil {
					p = o.Positions[r]
				}
				p += base
				for m := 0; m < half; m++ {
					sn, cs := math.Sincos(float64(p) * inv[m])
					cos[r*half+m], sin[r*half+m] = T(cs), T(sign*sn)
				}
			}
			last = base
		}
		out := op.result(vals[0].Dtype())
		ropeKernel(data[T](out), data[T](vals[0]), cos, sin, b, t, c, o.HeadDim, o.Style)
		return out, nil
	}
	op.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
		g, err := ropeOp[T](grad, o, -sign)
		return G.Nodes{g}, err
	}
	return G.ApplyOp(op, x)
}

// ropeKernel rotates every head block of every row of x (b × t rows of c columns) into
// out with the tables cos and sin (t × d/2).
func ropeKernel[T num.Float](out, x, cos, sin []T, b, t, c, d int, style RoPEStyle) {
	half := d / 2
	for bi := 0; bi < b; bi++ {
		for r := 0; r < t; r++ {
			cs, sn := cos[r*half:(r+1)*half], sin[r*half:(r+1)*half]
			row := (bi*t + r) * c
			for h0 := row; h0 < row+c; h0 += d {
				xr, or := x[h0:h0+d], out[h0:h0+d]
				for m := 0; m < half; m++ {
					ia, ib := 2*m, 2*m+1
					if style == RoPEHalf {
						ia, ib = m, m+half
					}
					a, bb := xr[ia], xr[ib]
					or[ia] = a*cs[m] - bb*sn[m]
					or[ib] = a*sn[m] + bb*cs[m]
				}
			}
		}
	}
}
