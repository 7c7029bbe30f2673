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

// layerNormParts32 is layerNormForward32's loop body (a value, so a loop that stays on
// the caller allocates nothing): rows [p·lnRows, (p+1)·lnRows).
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

// layerNormGradGain32 is layerNormGradGain for float32: the same strips, each of every
// row in one call of vec's kernel. The strips are cheap (≈ 0.3 ns an element on one
// core), so the work estimate is a quarter of an op an element: at nanogpt-cpu's
// 768 × 128 the loop stays on the caller, where two cores measured slower (38 µs
// against 33 µs serially, AVX2, warm caches), and from about twice that size it is split
// (768 × 512: 140 µs against 220 µs).
func layerNormGradGain32(dg, x, dy []float32, c int, mean, rstd, acc []float64) {
	work := len(x) / 4
	n, cols := gainStrips(c, work)
	parallelDo(n, work, layerNormGainParts32{dg, x, dy, mean, rstd, acc, c, cols})
}

// layerNormGainParts32 is layerNormGradGain32's loop body: columns [p·cols, (p+1)·cols).
type layerNormGainParts32 struct {
	dg, x, dy  []float32
	mean, rstd []float64
	acc        []float64
	c, cols    int
}

func (l layerNormGainParts32) Do(p int) {
	lo, hi := p*l.cols, min((p+1)*l.cols, l.c)
	acc := l.acc[lo:hi]
	clear(acc)
	vec.LayerNormGradGainF32(acc, l.x, l.dy, l.c, lo, l.mean, l.rstd)
	for j := lo; j < hi; j++ {
		l.dg[j] = float32(l.acc[j])
	}
}
