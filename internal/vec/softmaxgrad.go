package vec

// SoftmaxGradF32 writes the gradient of softmax for each row of k columns (len(p)/k
// rows) given its output p and the upstream gradient g: dx = p ⊙ (g − Σ g⊙p), with the
// sum in float64 in column order and rounded to float32 once; dx is exactly 0 where p
// is 0 (blocked keys). Four rows' sums run interleaved, so their chains of additions
// overlap; the results are those of one row at a time.
func SoftmaxGradF32(dx, p, g []float32, k int) {
	rows := len(p) / k
	dx, g = dx[:rows*k], g[:rows*k]
	var d [4]float32
	for r0 := 0; r0 < rows; r0 += 4 {
		n := min(4, rows-r0)
		gradDots(d[:n], p[r0*k:], g[r0*k:], k)
		for i := range n {
			r := r0 + i
			softmaxGradRow(dx[r*k:(r+1)*k], p[r*k:(r+1)*k], g[r*k:(r+1)*k], d[i])
		}
	}
}

// gradDots sets d[i] = float32(Σ_j g[i][j]·p[i][j]) for rows i of k (len(d) ≤ 4), the
// float64 sums in column order.
func gradDots(d []float32, p, g []float32, k int) {
	if len(d) < 4 {
		for i := range d {
			var s float64
			pr, gr := p[i*k:(i+1)*k], g[i*k:(i+1)*k]
			for j := range pr {
				s += float64(float64(gr[j]) * float64(pr[j]))
			}
			d[i] = float32(s)
		}
		return
	}
	p0, p1, p2, p3 := p[:k], p[k:2*k], p[2*k:3*k], p[3*k:4*k]
	g0, g1, g2, g3 := g[:k], g[k:2*k], g[2*k:3*k], g[3*k:4*k]
	var s0, s1, s2, s3 float64
	for j := range p0 {
		s0 += float64(float64(g0[j]) * float64(p0[j]))
		s1 += float64(float64(g1[j]) * float64(p1[j]))
		s2 += float64(float64(g2[j]) * float64(p2[j]))
		s3 += float64(float64(g3[j]) * float64(p3[j]))
	}
	d[0], d[1], d[2], d[3] = float32(s0), float32(s1), float32(s2), float32(s3)
}

// SoftmaxGradRowF32 writes dx[j] = p[j]·(g[j] − d), exactly 0 where p[j] is 0: one row
// of SoftmaxGradF32 given its dot product d (FlashAttention's tiles, whose d comes
// from the output instead). dx may be g.
func SoftmaxGradRowF32(dx, p, g []float32, d float32) { softmaxGradRow(dx, p, g, d) }

// softmaxGradRow writes one row of SoftmaxGradF32 given its float32 dot product d.
func softmaxGradRow(dx, p, g []float32, d float32) {
	dx, g = dx[:len(p)], g[:len(p)]
	n := softmaxGradBlocks(dx, p, g, d)
	for j := n; j < len(p); j++ {
		if p[j] == 0 {
			dx[j] = 0
			continue
		}
		dx[j] = p[j] * (g[j] - d)
	}
}
