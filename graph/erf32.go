package graph

import (
	"math"

	"github.com/attend-go/attend/internal/num"
)

// exp32 is exp for float32 (Cephes' expf: Cody–Waite range reduction and a degree-5
// polynomial), within 2 float32 ulps of math.Exp; results below the smallest normal
// float32 flush to 0.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		return 0
	}
	n := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	if n > 127 { // 2^128 is not a float32; scale in two steps
		y, n = y*2, n-1
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// expOf is math.Exp in float64 and the faster exp32 in float32.
func expOf[T num.Float](v T) T {
	if x, ok := any(v).(float32); ok {
		return T(exp32(x))
	}
	return T(math.Exp(float64(v)))
}
