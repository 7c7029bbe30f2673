package vec

import "math"

// The row kernels of a training step's loss and bias gradients: column sums over rows,
// the cross-entropy's log-sum-exp, and its softmax gradient with the scale fused in.
// The Go forms here are the reference; rows_amd64.s (written by gen_rows.go) holds
// their AVX2 and AVX-512 forms, which keep float64 lanes and give bit-identical
// results. They run at the package's one level (vec_amd64.go), as the other kernels do.

// SumRowsF32 writes into dst[:c] the column sums of x read as rows of c elements,
// dst[j] = float32(Σ_r float64(x[r·c+j])), each sum taken in float64 in row order in
// acc[j] (acc has at least c elements; its first c are overwritten). A last partial
// row of x is ignored.
func SumRowsF32(dst, x []float32, c int, acc []float64) {
	if c <= 0 {
		return
	}
	dst, acc = dst[:c], acc[:c]
	rows := len(x) / c
	clear(acc)
	n := 0
	if rows > 0 {
		n = sumRowsBlocks(acc, x, c, rows)
	}
	for r := range rows {
		for j, v := range x[r*c+n : (r+1)*c] {
			acc[n+j] += float64(v)
		}
	}
	for j, s := range acc {
		dst[j] = float32(s)
	}
}

// SoftmaxScaleF32 is SoftmaxF32 followed by dst[j] = float32(float64(dst[j])·scale),
// with the same two roundings, in one pass over dst: the softmax's normalisation by
// 1/Σ and the scale are applied together.
func SoftmaxScaleF32(dst, src []float32, n int, scale float64) {
	dst = dst[:len(src)]
	sum, ok := softmaxExps(dst, src, n)
	if !ok {
		clear(dst)
		ScaleF32(dst, scale) // 0·scale, as the two passes give (NaN for an infinite scale)
		return
	}
	scale2F32(dst, 1/sum, scale)
}

// scale2F32 sets x[i] = float32(float64(float32(float64(x[i])·s1))·s2): ScaleF32 by s1
// then by s2.
func scale2F32(x []float32, s1, s2 float64) {
	n := scale2Blocks(x, s1, s2)
	for i := n; i < len(x); i++ {
		x[i] = float32(float64(float32(float64(x[i])*s1)) * s2)
	}
}

// lseChunk is how many exponentials LogSumExpF32 takes at a time (in a buffer on the
// stack).
const lseChunk = 256

// LogSumExpF32 returns log Σ exp(x[i]) in float64, as m + log Σ float64(Exp32(x[i] − m))
// with m the largest element, the exponentials from ExpShiftF32 and their sum in
// float64, in order. Its special values are those of the float64 formula with math.Max
// and math.Exp: −Inf for an empty row or a row of −Infs, +Inf if any element is +Inf,
// otherwise NaN if any is NaN.
//
// Against that formula the result differs by the float32 rounding of x[i] − m and
// Exp32's error (at most 1 ulp): a relative error of the sum of at most about 2⁻²³
// plus 2⁻²⁴·Σ|x[i] − m|·exp(x[i] − m)/Σ exp(x[i] − m), which is the absolute error of
// the result; TestLogSumExpF32Accuracy measures it.
func LogSumExpF32(x []float32) float64 {
	m := MaxF32(x)
	switch {
	case math.IsInf(float64(m), 1):
		return math.Inf(1)
	case math.IsInf(float64(m), -1):
		for _, v := range x {
			if v != v {
				return math.NaN()
			}
		}
		return math.Inf(-1)
	}
	var buf [lseChunk]float32
	var s float64
	for len(x) > 0 {
		e := buf[:min(len(x), lseChunk)]
		ExpShiftF32(e, x[:len(e)], m) // NaN for a NaN element
		for _, v := range e {
			s += float64(v)
		}
		x = x[len(e):]
	}
	return float64(m) + math.Log(s)
}
