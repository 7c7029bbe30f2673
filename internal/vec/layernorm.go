package vec

import "math"

// The LayerNorm kernels work on whole rows of c columns, in float64 as graph's generic
// loops do, with each row's sums taken in column order: their results are bit-identical
// to those loops'. The sums (latency-bound chains of float64 additions) run eight rows
// at a time — in the assembly one row per float64 lane, elsewhere four rows interleaved
// so the chains overlap; the per-element passes run in 4 float64 lanes in the assembly.

// LayerNormF32 writes y = (x − mean)·rstd·g + b for each row of x (len(x)/c rows of c),
// with the row's mean and rstd = 1/√(var + eps) (var the biased variance), and leaves
// them in mean[r] and rstd[r] (len(x)/c elements each) for the gradients. b may be nil
// (no bias); g and b have c elements.
func LayerNormF32(y, x, g, b []float32, c int, eps float64, mean, rstd []float64) {
	rows := len(x) / c
	mean, rstd = mean[:rows], rstd[:rows]
	for r0 := 0; r0 < rows; r0 += 8 {
		h := min(r0+8, rows)
		rowStats(mean[r0:h], rstd[r0:h], x[r0*c:], c, eps)
		for r := r0; r < h; r++ {
			layerNormRow(y[r*c:(r+1)*c], x[r*c:(r+1)*c], g[:c], b, mean[r], rstd[r])
		}
	}
}

// LayerNormGradXF32 writes the gradient of LayerNormF32 with respect to x given dy:
// dx = rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ ⊙ x̂)) with dŷ = dy ⊙ g and x̂ = (x − mean)·rstd,
// mean and rstd being the rows' statistics that LayerNormF32 left.
func LayerNormGradXF32(dx, x, g, dy []float32, c int, mean, rstd []float64) {
	rows := len(x) / c
	mean, rstd = mean[:rows], rstd[:rows]
	var m1, m2 [8]float64
	for r0 := 0; r0 < rows; r0 += 8 {
		k := min(8, rows-r0)
		if k < 8 || !gradMeans8(m1[:], m2[:], x[r0*c:], g, dy[r0*c:], c, mean[r0:], rstd[r0:]) {
			for i := 0; i < k; i += 4 {
				h := min(i+4, k)
				gradMeans(m1[i:h], m2[i:h], x[(r0+i)*c:], g[:c], dy[(r0+i)*c:], c, mean[r0+i:r0+h], rstd[r0+i:r0+h])
			}
		}
		for i := range k {
			r := r0 + i
			layerNormGradRow(dx[r*c:(r+1)*c], x[r*c:(r+1)*c], g[:c], dy[r*c:(r+1)*c], mean[r], rstd[r], m1[i], m2[i])
		}
	}
}

// LayerNormGradGainF32 adds Σ_rows dy ⊙ x̂ (the gradient of the gain, before rounding)
// of columns lo … lo+len(acc)−1 into acc, row after row, with the rows' statistics that
// LayerNormF32 left in mean and rstd. Each column's sum is the same whatever columns
// one call takes, so callers may split the columns between goroutines.
func LayerNormGradGainF32(acc []float64, x, dy []float32, c, lo int, mean, rstd []float64) {
	rows, hi := len(x)/c, lo+len(acc)
	if rows == 0 {
		return
	}
	k := gainColsBlocks(acc, x[lo:], dy[lo:], c, mean[:rows], rstd[:rows])
	if k == len(acc) {
		return
	}
	for r := range rows { // the columns left, for every row
		gainAcc(acc[k:], x[r*c+lo+k:r*c+hi], dy[r*c+lo+k:r*c+hi], mean[r], rstd[r])
	}
}

// rowStats sets mean[i] and rstd[i] of row i of x (rows of c, len(mean) ≤ 8 of them):
// the mean, then Σ (x − mean)² / c, each summed in column order, and 1/√(var + eps).
func rowStats(mean, rstd []float64, x []float32, c int, eps float64) {
	if len(mean) == 8 && rowStats8(mean, rstd, x, c, eps) {
		return
	}
	for i := 0; i < len(mean); i += 4 {
		h := min(i+4, len(mean))
		rowStats4(mean[i:h], rstd[i:h], x[i*c:], c, eps)
	}
}

// rowStats4 is rowStats for at most 4 rows, in Go.
func rowStats4(mean, rstd []float64, x []float32, c int, eps float64) {
	n := float64(c)
	if len(mean) < 4 {
		for i := range mean {
			row := x[i*c : (i+1)*c]
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			m := s / n
			var vr float64
			for _, v := range row {
				d := float64(v) - m
				vr += float64(d * d)
			}
			mean[i], rstd[i] = m, 1/math.Sqrt(vr/n+eps)
		}
		return
	}
	x0, x1, x2, x3 := x[:c], x[c:2*c], x[2*c:3*c], x[3*c:4*c]
	var s0, s1, s2, s3 float64
	for j := range x0 {
		s0 += float64(x0[j])
		s1 += float64(x1[j])
		s2 += float64(x2[j])
		s3 += float64(x3[j])
	}
	m0, m1, m2, m3 := s0/n, s1/n, s2/n, s3/n
	var v0, v1, v2, v3 float64
	for j := range x0 {
		d0, d1, d2, d3 := float64(x0[j])-m0, float64(x1[j])-m1, float64(x2[j])-m2, float64(x3[j])-m3
		v0 += float64(d0 * d0)
		v1 += float64(d1 * d1)
		v2 += float64(d2 * d2)
		v3 += float64(d3 * d3)
	}
	mean[0], mean[1], mean[2], mean[3] = m0, m1, m2, m3
	rstd[0], rstd[1], rstd[2], rstd[3] = 1/math.Sqrt(v0/n+eps), 1/math.Sqrt(v1/n+eps), 1/math.Sqrt(v2/n+eps), 1/math.Sqrt(v3/n+eps)
}

// gradMeans sets m1[i] = mean(dŷ) and m2[i] = mean(dŷ ⊙ x̂) of row i (len(m1) ≤ 4 rows),
// summed in column order.
func gradMeans(m1, m2 []float64, x, g, dy []float32, c int, mean, rstd []float64) {
	mean, rstd = mean[:len(m1)], rstd[:len(m1)]
	n := float64(c)
	if len(m1) < 4 {
		for i := range m1 {
			row, d := x[i*c:(i+1)*c], dy[i*c:(i+1)*c]
			var a, b float64
			for j, v := range row {
				dh := float64(d[j]) * float64(g[j])
				a += dh
				b += float64(float64(dh*(float64(v)-mean[i])) * rstd[i])
			}
			m1[i], m2[i] = a/n, b/n
		}
		return
	}
	x0, x1, x2, x3 := x[:c], x[c:2*c], x[2*c:3*c], x[3*c:4*c]
	d0, d1, d2, d3 := dy[:c], dy[c:2*c], dy[2*c:3*c], dy[3*c:4*c]
	g = g[:c]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for j := range x0 {
		gj := float64(g[j])
		h0, h1, h2, h3 := float64(d0[j])*gj, float64(d1[j])*gj, float64(d2[j])*gj, float64(d3[j])*gj
		a0 += h0
		a1 += h1
		a2 += h2
		a3 += h3
		b0 += float64(float64(h0*(float64(x0[j])-mean[0])) * rstd[0])
		b1 += float64(float64(h1*(float64(x1[j])-mean[1])) * rstd[1])
		b2 += float64(float64(h2*(float64(x2[j])-mean[2])) * rstd[2])
		b3 += float64(float64(h3*(float64(x3[j])-mean[3])) * rstd[3])
	}
	m1[0], m1[1], m1[2], m1[3] = a0/n, a1/n, a2/n, a3/n
	m2[0], m2[1], m2[2], m2[3] = b0/n, b1/n, b2/n, b3/n
}

// layerNormRow writes one row of LayerNormF32.
func layerNormRow(y, x, g, b []float32, mean, rstd float64) {
	y, g = y[:len(x)], g[:len(x)]
	n := layerNormRowBlocks(y, x, g, b, mean, rstd)
	for j := n; j < len(x); j++ {
		o := float64(float64((float64(x[j])-mean)*rstd) * float64(g[j]))
		if b != nil {
			o += float64(b[j])
		}
		y[j] = float32(o)
	}
}

// layerNormGradRow writes one row of LayerNormGradXF32.
func layerNormGradRow(dx, x, g, dy []float32, mean, rstd, m1, m2 float64) {
	dx, g, dy = dx[:len(x)], g[:len(x)], dy[:len(x)]
	n := layerNormGradRowBlocks(dx, x, g, dy, mean, rstd, m1, m2)
	for j := n; j < len(x); j++ {
		xh := (float64(x[j]) - mean) * rstd
		dx[j] = float32(rstd * (float64(float64(dy[j])*float64(g[j])) - m1 - float64(xh*m2)))
	}
}

// gainAcc adds dy ⊙ x̂ of one row into acc.
func gainAcc(acc []float64, x, dy []float32, mean, rstd float64) {
	acc, dy = acc[:len(x)], dy[:len(x)]
	n := gainAccBlocks(acc, x, dy, mean, rstd)
	for j := n; j < len(x); j++ {
		acc[j] += float64(float64(float64(dy[j])*(float64(x[j])-mean)) * rstd)
	}
}

// rowStats8 is rowStats for 8 rows with the sums in the assembly (rowSums8: one row per
// float64 lane, 4 columns a step), when there is an assembly form and c is a multiple
// of 4; it reports whether it ran.
func rowStats8(mean, rstd []float64, x []float32, c int, eps float64) bool {
	if c%4 != 0 || c == 0 {
		return false
	}
	var m, vr [8]float64
	if !rowSums8(x[:8*c], c, &m, &vr) {
		return false
	}
	n := float64(c)
	for i := range 8 {
		mean[i], rstd[i] = m[i], 1/math.Sqrt(vr[i]/n+eps)
	}
	return true
}

// gradMeans8 is gradMeans for 8 rows with the sums in the assembly (gradSums8), when
// there is an assembly form and c is a multiple of 4; it reports whether it ran.
func gradMeans8(m1, m2 []float64, x, g, dy []float32, c int, mean, rstd []float64) bool {
	if c%4 != 0 || c == 0 {
		return false
	}
	var mn, rs, a, b [8]float64
	copy(mn[:], mean[:8])
	copy(rs[:], rstd[:8])
	if !gradSums8(x[:8*c], dy[:8*c], g[:c], c, &mn, &rs, &a, &b) {
		return false
	}
	n := float64(c)
	for i := range 8 {
		m1[i], m2[i] = a[i]/n, b[i]/n
	}
	return true
}
