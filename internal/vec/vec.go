package vec

import "math"

// GeluF32 writes dst[i] = x·Φ(x) for x = src[i] (the exact-erf GELU of PyTorch's
// nn.GELU()), with Φ(x) = (1 + erf(x/√2))/2 and erf from Erf32's rational
// approximation.
func GeluF32(dst, src []float32) {
	dst = dst[:len(src)]
	n := geluBlocks(dst, src)
	for i := n; i < len(src); i++ {
		dst[i] = geluOne(src[i])
	}
}

// GeluGradF32 writes dx[i] = dy[i]·(Φ(x) + x·φ(x)) for x = x[i], the gradient of GELU,
// given the forward output y = GeluF32(x): where |x| > 0.25 it takes Φ(x) as y/x,
// nearer 0 (where the quotient loses precision) from erf.
func GeluGradF32(dx, x, y, dy []float32) {
	dx, y, dy = dx[:len(x)], y[:len(x)], dy[:len(x)]
	n := geluGradBlocks(dx, x, y, dy)
	for i := n; i < len(x); i++ {
		dx[i] = geluGradOne(x[i], y[i], dy[i])
	}
}

// MaxF32 returns the largest element of x, skipping NaNs; −Inf if x is empty or all
// NaN.
func MaxF32(x []float32) float32 {
	m, n := maxBlocks(x)
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// ExpShiftF32 writes dst[i] = Exp32(src[i] − shift).
func ExpShiftF32(dst, src []float32, shift float32) {
	dst = dst[:len(src)]
	n := expShiftBlocks(dst, src, shift)
	for i := n; i < len(src); i++ {
		dst[i] = Exp32(src[i] - shift)
	}
}

// ExpShiftSumF32 is ExpShiftF32 that also returns Σ float64(dst[i]), summed in order
// (the softmax's and attention tiles' normaliser).
func ExpShiftSumF32(dst, src []float32, shift float32) float64 {
	ExpShiftF32(dst, src, shift)
	var sum float64
	for _, e := range dst[:len(src)] {
		sum += float64(e)
	}
	return sum
}

// ScaleF32 sets x[i] = float32(float64(x[i])·s): the product in float64, rounded once.
func ScaleF32(x []float32, s float64) {
	n := scaleBlocks(x, s)
	for i := n; i < len(x); i++ {
		x[i] = float32(float64(x[i]) * s)
	}
}

// SoftmaxF32 writes the softmax of src[:n] into dst[:n] and zeros into dst[n:len(src)]
// (keys from n on are blocked): dst[j] = exp(src[j] − m) / Σ exp(src[k] − m) with m the
// largest of src[:n] (NaNs skipped), the exponentials from Exp32 and their sum in
// float64, in order. If m is −Inf (n is 0, or every key is −Inf or NaN) dst is all
// zeros. dst may be src.
func SoftmaxF32(dst, src []float32, n int) {
	dst = dst[:len(src)]
	sum, ok := softmaxExps(dst, src, n)
	if !ok {
		clear(dst)
		return
	}
	ScaleF32(dst, 1/sum)
}

// softmaxExps is the part SoftmaxF32 and SoftmaxScaleF32 share: it writes
// exp(src[j] − m) into dst[:n] (m the largest of src[:n], NaNs skipped) and zeros into
// dst[n:], and returns the float64 sum of dst[:n], in order. If m is −Inf it writes
// nothing and returns false.
func softmaxExps(dst, src []float32, n int) (sum float64, ok bool) {
	m := MaxF32(src[:n])
	if math.IsInf(float64(m), -1) {
		return 0, false
	}
	sum = ExpShiftSumF32(dst[:n], src[:n], m)
	clear(dst[n:])
	return sum, true
}

// AddF32 writes dst[i] = a[i] + b[i] (dst may be a or b).
func AddF32(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	n := addBlocks(dst, a, b)
	for i := n; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}
