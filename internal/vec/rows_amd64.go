//go:build amd64 && !purego

package vec

//go:generate go run gen_rows.go

// sumRowsBlocks does SumRowsF32's sums in acc for the longest prefix of the columns
// that is whole registers (8 columns with AVX-512, 4 with AVX2), for rows > 0, and
// returns its length.
func sumRowsBlocks(acc []float64, x []float32, c, rows int) int {
	x = x[:rows*c]
	switch level {
	case levelAVX512:
		if n := c &^ 7; n > 0 {
			sumRowsAVX512(&acc[0], &x[0], c, rows, n)
			return n
		}
	case levelAVX2:
		if n := c &^ 3; n > 0 {
			sumRowsAVX2(&acc[0], &x[0], c, rows, n)
			return n
		}
	}
	return 0
}

// scale2Blocks does scale2F32 on the longest prefix of x that is whole registers of
// float32 (8 elements) and returns its length.
func scale2Blocks(x []float32, s1, s2 float64) int {
	n := len(x) &^ 7
	if n == 0 {
		return 0
	}
	switch level {
	case levelAVX512:
		scale2AVX512(&x[0], n, s1, s2)
	case levelAVX2:
		scale2AVX2(&x[0], n, s1, s2)
	default:
		return 0
	}
	return n
}

// sumRowsAVX2 sets acc[j] = Σ_r float64(x[r·c+j]) for j < n, in row order; n is a
// positive multiple of 4 and rows > 0.
//
//go:noescape
func sumRowsAVX2(acc *float64, x *float32, c, rows, n int)

// sumRowsAVX512 is sumRowsAVX2 for n a positive multiple of 8.
//
//go:noescape
func sumRowsAVX512(acc *float64, x *float32, c, rows, n int)

// scale2AVX2 is scale2F32 for n a positive multiple of 8.
//
//go:noescape
func scale2AVX2(x *float32, n int, s1, s2 float64)

// scale2AVX512 is scale2F32 for n a positive multiple of 8.
//
//go:noescape
func scale2AVX512(x *float32, n int, s1, s2 float64)
