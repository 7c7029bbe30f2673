package graph

import "math"

// The float32 GELU loops, with erf32 and exp32 written out inline: the hot loops of a
// training step after the matrix products.

// geluForward32 writes y = x·Φ(x).
func geluForward32(y, x []float32) {
	parallelDo((len(x)+geluChunk-1)/geluChunk, len(x)*20, geluChunks32{y, x})
}

// geluChunk is how many elements one part of a GELU loop does.
const geluChunk = 4096

// geluChunks32 is geluForward32's loop body (a value, so a loop that stays on the caller
// allocates nothing): chunk c of y = x·Φ(x).
type geluChunks32 struct{ y, x []float32 }

func (g geluChunks32) Do(c int) {
	xs := g.x[c*geluChunk : min((c+1)*geluChunk, len(g.x))]
	ys := g.y[c*geluChunk : c*geluChunk+len(xs)]
	for i, v := range xs {
		ys[i] = v * 0.5 * (1 + erfInline(v*math.Sqrt2/2))
	}
}

// geluBackward32 writes dx = dy·(Φ(x) + x·φ(x)), taking Φ(x) = y/x from the forward
// output y = x·Φ(x) (and from erf near 0, where the quotient loses precision).
func geluBackward32(dx, x, y, dy []float32) {
	const chunk = geluChunk
	const invSqrt2Pi = float32(0.3989422804014327)
	parallelFor((len(x)+chunk-1)/chunk, len(x)*15, func(c int) {
		xs := x[c*chunk : min((c+1)*chunk, len(x))]
		ys := y[c*chunk : c*chunk+len(xs)]
		ds := dy[c*chunk : c*chunk+len(xs)]
		out := dx[c*chunk : c*chunk+len(xs)]
		for i, v := range xs {
			var cdf float32
			if v > 0.25 || v < -0.25 {
				cdf = ys[i] / v
			} else {
				cdf = 0.5 * (1 + erfInline(v*math.Sqrt2/2))
			}
			out[i] = ds[i] * (cdf + v*expNegHalfSq(v)*invSqrt2Pi)
		}
	})
}

// erfInline is erf32 in a form small enough for the compiler to inline.
func erfInline(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p - 2.10102402082508e-06
	p = x2*p - 5.69250639462346e-05
	p = x2*p - 7.34990630326855e-04
	p = x2*p - 2.95459980854025e-03
	p = x2*p - 1.60960333262415e-02
	q := x2*-1.45660718464996e-05 - 2.13374055278905e-04
	q = x2*q - 1.68282697438203e-03
	q = x2*q - 7.37332916720468e-03
	q = x2*q - 1.42647390514189e-02
	return x * p / q
}

// expNegHalfSq is exp(−v²/2) for float32 (exp32's method, for arguments ≤ 0): 0 once
// it is below the smallest normal float32.
func expNegHalfSq(v float32) float32 {
	x := -0.5 * v * v
	if x < -87.33654 {
		return 0
	}
	t := x*1.44269504088896341 - 0.5 // floor(x·log2 e + 0.5) by truncation toward zero
	n := float32(int32(t))
	if n > t {
		n--
	}
	n++
	r := x - n*0.693359375 + n*2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	return (p*r*r + r + 1) * math.Float32frombits(uint32(int32(n)+127)<<23)
}
