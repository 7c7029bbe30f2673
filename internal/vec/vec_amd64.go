//go:build amd64 && !purego

package vec

//go:generate go run gen_vec.go

import (
	"math"

	"golang.org/x/sys/cpu"
)

// The forms of the kernels, in the order the CPU can run them.
const (
	levelGo     = iota // the Go loops only
	levelAVX2          // the AVX2 kernels of vec_amd64.s
	levelAVX512        // its AVX-512 kernels (AVX-512F and VL)
)

// level is the best form the CPU runs (x/sys/cpu also checks that the OS saves the
// YMM and ZMM registers); the tests lower it to run the others.
var level = func() int {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2:
		return levelAVX512
	case cpu.X86.HasAVX2:
		return levelAVX2
	}
	return levelGo
}()

// geluBlocks runs GeluF32 in the assembly over as much of src as it does — all of it
// with AVX-512, whole blocks of 8 lanes with AVX2, none in Go — and returns how many
// elements that is.
func geluBlocks(dst, src []float32) int {
	switch n := len(src); {
	case n == 0:
	case level >= levelAVX512:
		geluAVX512(&dst[0], &src[0], n)
		return n
	case level >= levelAVX2 && n >= 8:
		geluAVX2(&dst[0], &src[0], n&^7)
		return n &^ 7
	}
	return 0
}

// geluGradBlocks is geluBlocks for GeluGradF32.
func geluGradBlocks(dx, x, y, dy []float32) int {
	switch n := len(x); {
	case n == 0:
	case level >= levelAVX512:
		geluGradAVX512(&dx[0], &x[0], &y[0], &dy[0], n)
		return n
	case level >= levelAVX2 && n >= 8:
		geluGradAVX2(&dx[0], &x[0], &y[0], &dy[0], n&^7)
		return n &^ 7
	}
	return 0
}

// maxBlocks returns the largest element of the prefix of x that the assembly does (as
// geluBlocks; NaNs skipped, −Inf if none) and the prefix's length.
func maxBlocks(x []float32) (float32, int) {
	switch n := len(x); {
	case n == 0:
	case level >= levelAVX512:
		return maxAVX512(&x[0], n), n
	case level >= levelAVX2 && n >= 8:
		return maxAVX2(&x[0], n&^7), n &^ 7
	}
	return float32(math.Inf(-1)), 0
}

// expShiftBlocks does ExpShiftF32 on all of src (the assembly masks the last partial
// block) when the CPU has AVX2, and returns how many elements it did.
func expShiftBlocks(dst, src []float32, shift float32) int {
	switch n := len(src); {
	case n == 0:
	case level >= levelAVX512:
		expShiftAVX512(&dst[0], &src[0], n, shift)
		return n
	case level >= levelAVX2:
		expShiftAVX2(&dst[0], &src[0], n, shift)
		return n
	}
	return 0
}

// tailMask[8−k:16−k] has k lanes of −1 then zeros: the mask of a block's first k lanes.
var tailMask = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// scaleBlocks is geluBlocks for ScaleF32.
func scaleBlocks(x []float32, s float64) int {
	switch n := len(x); {
	case n == 0:
	case level >= levelAVX512:
		scaleAVX512(&x[0], n, s)
		return n
	case level >= levelAVX2 && n >= 8:
		scaleAVX2(&x[0], n&^7, s)
		return n &^ 7
	}
	return 0
}

// adamwBlocks is geluBlocks for AdamWF32.
func adamwBlocks(p, g, m, v []float32, c *adamwConsts, lerp bool) int {
	switch n := len(p); {
	case n == 0:
	case level >= levelAVX512:
		adamwAVX512(&p[0], &g[0], &m[0], &v[0], n, c, lerp)
		return n
	case level >= levelAVX2 && n >= 8:
		adamwAVX2(&p[0], &g[0], &m[0], &v[0], n&^7, c, lerp)
		return n &^ 7
	}
	return 0
}

// adamwAVX2 is AdamWF32 for n a positive multiple of 8.
//
//go:noescape
func adamwAVX2(p, grad, m, v *float32, n int, c *adamwConsts, lerp bool)

// layerNormRowBlocks is geluBlocks for layerNormRow (AVX2: blocks of 4 elements).
func layerNormRowBlocks(y, x, g, b []float32, mean, rstd float64) int {
	n := len(x)
	var bias *float32
	if b != nil && n > 0 {
		bias = &b[:n][0]
	}
	switch {
	case n == 0:
	case level >= levelAVX512:
		layerNormRowAVX512(&y[0], &x[0], &g[0], bias, n, mean, rstd)
		return n
	case level >= levelAVX2 && n >= 4:
		layerNormRowAVX2(&y[0], &x[0], &g[0], bias, n&^3, mean, rstd)
		return n &^ 3
	}
	return 0
}

// layerNormGradRowBlocks is geluBlocks for layerNormGradRow (AVX2: blocks of 4
// elements).
func layerNormGradRowBlocks(dx, x, g, dy []float32, mean, rstd, m1, m2 float64) int {
	switch n := len(x); {
	case n == 0:
	case level >= levelAVX512:
		layerNormGradRowAVX512(&dx[0], &x[0], &g[0], &dy[0], n, mean, rstd, m1, m2)
		return n
	case level >= levelAVX2 && n >= 4:
		layerNormGradRowAVX2(&dx[0], &x[0], &g[0], &dy[0], n&^3, mean, rstd, m1, m2)
		return n &^ 3
	}
	return 0
}

// gainAccBlocks is geluBlocks for gainAcc (AVX2: blocks of 4 elements).
func gainAccBlocks(acc []float64, x, dy []float32, mean, rstd float64) int {
	switch n := len(x); {
	case n == 0:
	case level >= levelAVX512:
		gainAccAVX512(&acc[0], &x[0], &dy[0], n, mean, rstd)
		return n
	case level >= levelAVX2 && n >= 4:
		gainAccAVX2(&acc[0], &x[0], &dy[0], n&^3, mean, rstd)
		return n &^ 3
	}
	return 0
}

// gainColsBlocks does columns of LayerNormGradGainF32 for every row in the assembly
// (see gainCols): acc's len(acc) columns of the len(mean) rows of x and dy, c apart. It
// returns how many of the columns it did (AVX2: a multiple of 4).
func gainColsBlocks(acc []float64, x, dy []float32, c int, mean, rstd []float64) int {
	n, rows := len(acc), len(mean)
	if n == 0 || rows == 0 {
		return 0
	}
	_, _, _ = x[(rows-1)*c+n-1], dy[(rows-1)*c+n-1], rstd[rows-1]
	switch {
	case level >= levelAVX512:
		gainColsAVX512(&acc[0], &x[0], &dy[0], n, rows, c, &mean[0], &rstd[0])
		return n
	case level >= levelAVX2 && n >= 4:
		gainColsAVX2(&acc[0], &x[0], &dy[0], n&^3, rows, c, &mean[0], &rstd[0])
		return n &^ 3
	}
	return 0
}

// gainColsAVX2 is gainAccAVX2 over the same n columns (a positive multiple of 4) of
// rows rows, stride elements apart, with row r's mean[r] and rstd[r].
//
//go:noescape
func gainColsAVX2(acc *float64, x, dy *float32, n, rows, stride int, mean, rstd *float64)

// layerNormRowAVX2 is layerNormRow for n a positive multiple of 4; bias may be nil.
//
//go:noescape
func layerNormRowAVX2(y, x, gain, bias *float32, n int, mean, rstd float64)

// layerNormGradRowAVX2 is layerNormGradRow for n a positive multiple of 4.
//
//go:noescape
func layerNormGradRowAVX2(dx, x, gain, dy *float32, n int, mean, rstd, m1, m2 float64)

// gainAccAVX2 is gainAcc for n a positive multiple of 4.
//
//go:noescape
func gainAccAVX2(acc *float64, x, dy *float32, n int, mean, rstd float64)

// addBlocks is geluBlocks for AddF32.
func addBlocks(dst, a, b []float32) int {
	switch n := len(dst); {
	case n == 0:
	case level >= levelAVX512:
		addAVX512(&dst[0], &a[0], &b[0], n)
		return n
	case level >= levelAVX2 && n >= 8:
		addAVX2(&dst[0], &a[0], &b[0], n&^7)
		return n &^ 7
	}
	return 0
}

// addAVX2 is AddF32 for n a positive multiple of 8.
//
//go:noescape
func addAVX2(dst, a, b *float32, n int)

// softmaxGradBlocks is geluBlocks for softmaxGradRow.
func softmaxGradBlocks(dx, p, g []float32, d float32) int {
	switch n := len(p); {
	case n == 0:
	case level >= levelAVX512:
		softmaxGradAVX512(&dx[0], &p[0], &g[0], n, d)
		return n
	case level >= levelAVX2 && n >= 8:
		softmaxGradAVX2(&dx[0], &p[0], &g[0], n&^7, d)
		return n &^ 7
	}
	return 0
}

// softmaxGradAVX2 is softmaxGradRow for n a positive multiple of 8.
//
//go:noescape
func softmaxGradAVX2(dx, p, grad *float32, n int, d float32)

// rowSums8 does rowStats8's sums in the assembly when the CPU has AVX2 (see
// layernorm.go); it reports whether it ran.
func rowSums8(x []float32, c int, m, vr *[8]float64) bool {
	switch {
	case level >= levelAVX512:
		rowStats8AVX512(&x[0], c, m, vr)
	case level >= levelAVX2:
		rowStats8AVX2(&x[0], c, m, vr)
	default:
		return false
	}
	return true
}

// rowStats8AVX2 sets mean[i] = Σ_j x[i·c+j] / c and vr[i] = Σ_j (x[i·c+j] − mean[i])²
// for 8 rows, each sum in column order; c is a positive multiple of 4.
//
//go:noescape
func rowStats8AVX2(x *float32, c int, mean, vr *[8]float64)

// gradSums8 does gradMeans8's sums in the assembly when the CPU has AVX2 (see
// layernorm.go); it reports whether it ran.
func gradSums8(x, dy, g []float32, c int, mean, rstd, a, b *[8]float64) bool {
	switch {
	case level >= levelAVX512:
		gradMeans8AVX512(&x[0], &dy[0], &g[0], c, mean, rstd, a, b)
	case level >= levelAVX2:
		gradMeans8AVX2(&x[0], &dy[0], &g[0], c, mean, rstd, a, b)
	default:
		return false
	}
	return true
}

// gradMeans8AVX2 sets m1[i] = Σ_j dy·g and m2[i] = Σ_j dy·g·(x − mean[i])·rstd[i]
// over row i's columns in order, for 8 rows; c is a positive multiple of 4.
//
//go:noescape
func gradMeans8AVX2(x, dy, gain *float32, c int, mean, rstd, m1, m2 *[8]float64)

// maxAVX2 is MaxF32 for n a positive multiple of 8.
//
//go:noescape
func maxAVX2(x *float32, n int) float32

// expShiftAVX2 is ExpShiftF32 for n > 0.
//
//go:noescape
func expShiftAVX2(dst, src *float32, n int, shift float32)

// scaleAVX2 is ScaleF32 for n a positive multiple of 8.
//
//go:noescape
func scaleAVX2(x *float32, n int, s float64)

// geluAVX2 is GeluF32 for n a positive multiple of 8.
//
//go:noescape
func geluAVX2(dst, src *float32, n int)

// geluGradAVX2 is GeluGradF32 for n a positive multiple of 8.
//
//go:noescape
func geluGradAVX2(dx, x, y, dy *float32, n int)

// splat holds the kernels' constants, each in 8 lanes so an AVX2 instruction can take
// it as a memory operand (AVX-512 broadcasts the first); vec_amd64.s names the rows by
// offset (32 bytes a row), in this order, gen_vec.go's constNames. They are the Go
// constants of vec_generic.go, rounded to float32 the same way.
var splat = func() (s [36][8]float32) {
	for i, c := range [...]float32{
		0.5, 1, math.Sqrt2, -4, 4, // 0–4: HALF ONE SQRT2 M4 P4
		erfP0, erfP1, erfP2, erfP3, erfP4, erfP5, erfP6, // 5–11: ERFP0…ERFP6
		erfQ0, erfQ1, erfQ2, erfQ3, erfQ4, // 12–16: ERFQ0…ERFQ4
		math.Float32frombits(0x7fffffff), 0.25, -0.5, log2e, // 17–20: ABS QUARTER MHALF LOG2E
		expC1, expC2, // 21–22: EXPC1 EXPC2
		expE0, expE1, expE2, expE3, expE4, expE5, // 23–28: EXPE0…EXPE5
		math.Float32frombits(127), expMin, invSqrt2Pi, // 29–31: I127 EXPMIN INVSQRT2PI
		127, expMax, float32(math.Inf(1)), float32(math.Inf(-1)), // 32–35: F127 EXPMAX INF NEGINF
	} {
		for j := range s[i] {
			s[i][j] = c
		}
	}
	return s
}()

// The AVX-512 kernels of vec_amd64.s: each is its AVX2 namesake for any n > 0,
// the last n mod 16 (or mod 8 for the float64 ones) elements done with masked loads
// and stores.

//go:noescape
func geluAVX512(dst, src *float32, n int)

//go:noescape
func geluGradAVX512(dx, x, y, dy *float32, n int)

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func expShiftAVX512(dst, src *float32, n int, shift float32)

//go:noescape
func scaleAVX512(x *float32, n int, s float64)

//go:noescape
func adamwAVX512(p, grad, m, v *float32, n int, c *adamwConsts, lerp bool)

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func softmaxGradAVX512(dx, p, grad *float32, n int, d float32)

//go:noescape
func layerNormRowAVX512(y, x, gain, bias *float32, n int, mean, rstd float64)

//go:noescape
func layerNormGradRowAVX512(dx, x, gain, dy *float32, n int, mean, rstd, m1, m2 float64)

//go:noescape
func gainAccAVX512(acc *float64, x, dy *float32, n int, mean, rstd float64)

//go:noescape
func gainColsAVX512(acc *float64, x, dy *float32, n, rows, stride int, mean, rstd *float64)

// rowStats8AVX512 and gradMeans8AVX512 are their AVX2 namesakes with the 8 rows in
// one vector.

//go:noescape
func rowStats8AVX512(x *float32, c int, mean, vr *[8]float64)

//go:noescape
func gradMeans8AVX512(x, dy, gain *float32, c int, mean, rstd, m1, m2 *[8]float64)

// Form names the form of the kernels that runs: "avx512", "avx2" or "go".
func Form() string {
	switch level {
	case levelAVX512:
		return "avx512"
	case levelAVX2:
		return "avx2"
	}
	return "go"
}
