package graph

import (
	"math"

	"github.com/attend-go/attend/internal/num"
)

// erf32 is erf for float32 without exp: a rational approximation on [−4, 4] (outside
// it erf is ±1 in float32), with the coefficients Eigen and XLA use for their float
// erf. Its error is within a few float32 ulps (checked against math.Erf in the tests).
func erf32(x float32) float32 {
	if x > 4 {
		x = 4
	} else if x < -4 {
		x = -4
	}
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p + -2.10102402082508e-06
	p = x2*p + -5.69250639462346e-05
	p = x2*p + -7.34990630326855e-04
	p = x2*p + -2.95459980854025e-03
	p = x2*p + -1.60960333262415e-02
	p *= x
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = x2*q + -1.68282697438203e-03
	q = x2*q + -7.37332916720468e-03
	q = x2*q + -1.42647390514189e-02
	return p / q
}

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
