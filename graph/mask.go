package graph

import (
	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NewMask adds a mask input node to g: a tensor of dtype dt and the given shape holding
// 0 (may attend) or 1 (blocked), all zeros until SetMask fills it. Masks are input nodes,
// not constants, so they can change between runs of a machine, and big masks are never
// merged by Gorgonia's hash-consing of constants. name must be unique in g.
func NewMask(g *G.ExprGraph, dt tensor.Dtype, shape tensor.Shape, name string) (*G.Node, error) {
	if g == nil {
		return nil, errors.Wrap(ErrArgument, "graph: NewMask: nil graph")
	}
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return nil, errors.Wrapf(ErrDtype, "graph: NewMask %q: dtype %v; want float32 or float64", name, dt)
	}
	if shape.Dims() < 2 || shape.Dims() > 4 {
		return nil, errors.Wrapf(ErrShape, "graph: NewMask %q: shape %v; want 2 to 4 dims", name, shape)
	}
	for _, d := range shape {
		if d < 1 {
			return nil, errors.Wrapf(ErrShape, "graph: NewMask %q: shape %v has a size < 1", name, shape)
		}
	}
	if name == "" {
		return nil, errors.Wrap(ErrArgument, "graph: NewMask: empty name")
	}
	if len(g.ByName(name)) > 0 { // Gorgonia would hand back the existing node
		return nil, errors.Wrapf(ErrArgument, "graph: NewMask: a node called %q is already in the graph", name)
	}
	v := tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
	return G.NewTensor(g, dt, shape.Dims(), G.WithShape(shape.Clone()...), G.WithName(name), G.WithValue(v)), nil
}

// SetMask writes blocked (row-major over the mask's shape, true = blocked) into a mask
// node made by NewMask, in place.
func SetMask(mask *G.Node, blocked []bool) error {
	if mask == nil {
		return errors.Wrap(ErrArgument, "graph: SetMask: nil mask")
	}
	n := mask.Shape().TotalSize()
	if len(blocked) != n {
		return errors.Wrapf(ErrShape, "graph: SetMask %q: %d values for a mask of shape %v (%d entries)", mask.Name(), len(blocked), mask.Shape(), n)
	}
	v, ok := mask.Value().(*tensor.Dense)
	if !ok || v == nil {
		v = tensor.New(tensor.Of(mask.Dtype()), tensor.WithShape(mask.Shape().Clone()...))
		if err := G.Let(mask, v); err != nil {
			return attend.Wrapf(err, "graph: SetMask %q", mask.Name())
		}
	}
	fill, err := byDtype(v.Dtype(), fillMask[float64], fillMask[float32])
	if err != nil {
		return attend.Wrapf(err, "graph: SetMask %q", mask.Name())
	}
	fill(v, blocked)
	return nil
}

func fillMask[T num.Float](m *tensor.Dense, blocked []bool) {
	dst := data[T](m)
	for i, b := range blocked {
		dst[i] = 0
		if b {
			dst[i] = 1
		}
	}
}

// CausalMask returns the (tq, tk) causal mask, row-major, true = blocked: query i may
// attend to keys j ≤ i + (tk − tq), the rule of AttentionOpts.Causal.
func CausalMask(tq, tk int) []bool {
	m := make([]bool, tq*tk)
	for i := 0; i < tq; i++ {
		for j := i + tk - tq + 1; j < tk; j++ {
			if j >= 0 {
				m[i*tk+j] = true
			}
		}
	}
	return m
}

// KeyPaddingMask returns a (len(lengths), tk) key-padding mask, row-major, true = padding:
// row b blocks the keys at positions ≥ lengths[b].
func KeyPaddingMask(lengths []int, tk int) ([]bool, error) {
	m := make([]bool, len(lengths)*tk)
	for b, n := range lengths {
		if n < 0 || n > tk {
			return nil, errors.Wrapf(ErrArgument, "graph: KeyPaddingMask: length %d of row %d is outside [0, %d]", n, b, tk)
		}
		for j := n; j < tk; j++ {
			m[b*tk+j] = true
		}
	}
	return m, nil
}
