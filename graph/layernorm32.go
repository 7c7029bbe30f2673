package graph

import "github.com/attend-go/attend/internal/vec"

// The float32 LayerNorm loops: internal/vec's kernels (the same arithmetic as the
// generic loops of nn.go, bit for bit), over parts of lnRows rows run over the cores.

// lnRows is how many rows one part of a float32 LayerNorm loop does: a multiple of the
// 4 rows vec's kernels sum at once.
const lnRows = 8

// layerNormForward32 is layerNormForward for float32.
func layerNormForward32(y, x, g, b []float32, c int, eps float64, mean, rstd []float64) {
	rows := len(x) / c
	parallelDo((rows+lnRows-1)/lnRows, len(x)*8, layerNormParts32{y, x, g, b, mean, rstd, c, eps})
}

// layerNormParts32 is layerNormForward32's loop body (a value, so that the loop
// allocates nothing): rows [p·lnRows, (p+1)·lnRows).
type layerNormParts32 struct {
	y, x, g, b []float32
	mean, rstd []float64
	c          int
	eps        float64
}

func (l layerNormParts32) Do(p int) {
	lo, hi := p*lnRows, min((p+1)*lnRows, len(l.x)/l.c)
	vec.LayerNormF32(l.y[lo*l.c:hi*l.c], l.x[lo*l.c:hi*l.c], l.g, l.b, l.c, l.eps, l.mean[lo:hi], l.rstd[lo:hi])
}

// layerNormGradX32 is layerNormGradX for float32.
func layerNormGradX32(dx, x, g, dy []float32, c int, mean, rstd []float64) {
	rows := len(x) / c
	parallelDo((rows+lnRows-1)/lnRows, len(x)*12, layerNormGradParts32{dx, x, g, dy, mean, rstd, c})
}

// layerNormGradParts32 is layerNormGradX32's loop body: rows [p·lnRows, (p+1)·lnRows).
type layerNormGradParts32 struct {
	dx, x, g, dy []float32
	mean, rstd   []float64
	c            int
}

func (l layerNormGradParts32) Do(p int) {
	lo, hi := p*lnRows, min((p+1)*lnRows, len(l.x)/l.c)
	vec.LayerNormGradXF32(l.dx[lo*l.c:hi*l.c], l.x[lo*l.c:hi*l.c], l.g, l.dy[lo*l.c:hi*l.c], l.c, l.mean[lo:hi], l.rstd[lo:hi])
}
