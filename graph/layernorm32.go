package graph

import "github.com/attend-go/attend/internal/vec"

// The float32 LayerNorm loops: internal/vec's kernels (the same arithmetic as the
// generic loops of nn.go, bit for bit), over parts of lnRows rows run over the cores.

// lnRows is how many rows one part of a float32 LayerNorm loop does: a multiple of the
// 4 rows vec's kernels sum at once.
const lnRows = 8

// layerNormForward32 is layerNormForward for float32.
func layerNormForward32(y, x, g, b []float32, c int, eps float64) {
	rows := len(x) / c
	parallelDo((rows+lnRows-1)/lnRows, len(x)*8, layerNormParts32{y, x, g, b, c, eps})
}

// layerNormParts32 is layerNormForward32's loop body (a value, so a loop that stays on
// the caller allocates nothing): rows [p·lnRows, (p+1)·lnRows).
type layerNormParts32 struct {
	y, x, g, b []float32
	c          int
	eps        float64
}

func (l layerNormParts32) Do(p int) {
	lo, hi := p*lnRows*l.c, min((p+1)*lnRows*l.c, len(l.x)/l.c*l.c)
	vec.LayerNormF32(l.y[lo:hi], l.x[lo:hi], l.g, l.b, l.c, l.eps)
}

// layerNormGradX32 is layerNormGradX for float32.
func layerNormGradX32(dx, x, g, dy []float32, c int, eps float64) {
	rows := len(x) / c
	parallelFor((rows+lnRows-1)/lnRows, len(x)*12, func(p int) {
		lo, hi := p*lnRows*c, min((p+1)*lnRows*c, rows*c)
		vec.LayerNormGradXF32(dx[lo:hi], x[lo:hi], g, dy[lo:hi], c, eps)
	})
}

// layerNormGradGain32 is layerNormGradGain for float32.
func layerNormGradGain32(dg, x, dy []float32, c int, eps float64, acc []float64) {
	clear(acc)
	vec.LayerNormGradGainF32(acc, x, dy, c, eps)
	for j := range dg {
		dg[j] = float32(acc[j])
	}
}
