package vec

import "math"

// The scalar kernels: the reference for the assembly and the tail (and whole loop)
// where it does not run. Every product that feeds an addition is converted to float32
// explicitly, which the Go spec says rounds it, so no compiler fuses it into an FMA.

// The coefficients of Erf32: p(x²)·x / q(x²) on [−4, 4], the rational approximation
// Eigen and XLA use for their float erf.
const (
	erfP0 = -2.72614225801306e-10
	erfP1 = 2.77068142495902e-08
	erfP2 = -2.10102402082508e-06
	erfP3 = -5.69250639462346e-05
	erfP4 = -7.34990630326855e-04
	erfP5 = -2.95459980854025e-03
	erfP6 = -1.60960333262415e-02
	erfQ0 = -1.45660718464996e-05
	erfQ1 = -2.13374055278905e-04
	erfQ2 = -1.68282697438203e-03
	erfQ3 = -7.37332916720468e-03
	erfQ4 = -1.42647390514189e-02
)

// The constants of exp (Cephes' expf): ln 2 split in two for the Cody–Waite range
// reduction, the degree-5 polynomial, and the argument below which exp is smaller than
// the smallest normal float32 (and is flushed to 0).
const (
	log2e  = 1.44269504088896341
	expC1  = 0.693359375
	expC2  = 2.12194440e-4
	expE0  = 1.9875691500e-4
	expE1  = 1.3981999507e-3
	expE2  = 8.3334519073e-3
	expE3  = 4.1665795894e-2
	expE4  = 1.6666665459e-1
	expE5  = 5.0000001201e-1
	expMin = -87.33654

	invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
)

// Erf32 is erf for float32: a rational approximation on [−4, 4] (outside it erf is ±1
// in float32), odd, NaN for NaN. Checked against math.Erf on every positive float32:
// the worst error is 4.7e-7 absolute, 7.9 float32 ulps, near ±3.27.
func Erf32(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := float32(x2*erfP0) + erfP1
	p = float32(x2*p) + erfP2
	p = float32(x2*p) + erfP3
	p = float32(x2*p) + erfP4
	p = float32(x2*p) + erfP5
	p = float32(x2*p) + erfP6
	q := float32(x2*erfQ0) + erfQ1
	q = float32(x2*q) + erfQ2
	q = float32(x2*q) + erfQ3
	q = float32(x2*q) + erfQ4
	return x * p / q
}

// ExpNegHalfSq32 is exp(−v²/2) for float32 (Cephes' expf for an argument ≤ 0), 0 once
// it is below the smallest normal float32.
func ExpNegHalfSq32(v float32) float32 {
	x := float32(-0.5 * v * v)
	if x < expMin {
		return 0
	}
	t := float32(x*log2e) - 0.5 // n = floor(x·log2 e + 0.5), as floor(t) + 1, by truncation
	n := float32(int32(t))
	if n > t {
		n--
	}
	n++
	r := float32(x-float32(n*expC1)) + float32(n*expC2)
	return expPoly(r) * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// geluOne is GeluF32 of one element.
func geluOne(v float32) float32 {
	return v * 0.5 * (1 + Erf32(v*math.Sqrt2/2))
}

// geluGradOne is GeluGradF32 of one element.
func geluGradOne(v, y, dy float32) float32 {
	var cdf float32
	if v > 0.25 || v < -0.25 {
		cdf = y / v
	} else {
		cdf = 0.5 * (1 + Erf32(v*math.Sqrt2/2))
	}
	return dy * (cdf + float32(float32(v*ExpNegHalfSq32(v))*invSqrt2Pi))
}

// expPoly is Cephes' expf polynomial: e^r for the reduced argument r, |r| ≤ ln2/2,
// each step rounded to float32 (so never fused).
func expPoly(r float32) float32 {
	p := float32(expE0)
	p = float32(p*r) + expE1
	p = float32(p*r) + expE2
	p = float32(p*r) + expE3
	p = float32(p*r) + expE4
	p = float32(p*r) + expE5
	return float32(float32(p*r)*r) + r + 1
}

// expMax is the argument above which exp is larger than the largest float32.
const expMax = 88.72283

// Exp32 is exp for float32 (Cephes' expf: Cody–Waite range reduction and a degree-5
// polynomial): within 1 float32 ulp of math.Exp (see the tests); +Inf above 88.72283,
// 0 below −87.33654 (where exp is smaller than the smallest normal float32), NaN for NaN.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return float32(math.Inf(1))
	case x < expMin:
		return 0
	}
	n := float32(math.Floor(float64(float32(x*log2e) + 0.5)))
	r := float32(x-float32(n*expC1)) + float32(n*expC2)
	y := expPoly(r)
	if n > 127 { // 2^128 is not a float32; scale in two steps
		y, n = y*2, n-1
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}
