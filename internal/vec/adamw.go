package vec

import "math"

// AdamW holds the coefficients of one AdamW step over a parameter, as torch.optim.AdamW
// computes it (see AdamWF32).
type AdamW struct {
	Decay    float64 // the parameter is first multiplied by Decay (1 − lr·weight decay)
	Beta1    float64 // the first moment's decay rate
	Beta2    float64 // the second moment's decay rate
	StepSize float64 // lr / (1 − β1ᵗ)
	Bc2Sqrt  float64 // √(1 − β2ᵗ)
	Eps      float64 // added to √v / Bc2Sqrt
}

// AdamWF32 applies one AdamW step to p given its gradient g and moments m and v, all in
// float64 arithmetic and rounded to float32 once per stored value:
//
//	m ← lerp(m, g, 1−β1)   (as torch: m + w·(g−m) for w = 1−β1 < ½, else g − (g−m)·(1−w))
//	v ← β2·v + (1−β2)·g²
//	p ← Decay·p − StepSize · m / (√v / Bc2Sqrt + Eps)
//
// and sets g to zero. g, m and v must be at least as long as p.
func AdamWF32(p, g, m, v []float32, k AdamW) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	w := 1 - k.Beta1
	c := adamwConsts{k.Decay, w, 1 - w, k.Beta2, 1 - k.Beta2, k.Bc2Sqrt, k.Eps, k.StepSize}
	lerp := w < 0.5
	n := adamwBlocks(p, g, m, v, &c, lerp)
	for i := n; i < len(p); i++ {
		p[i], m[i], v[i] = adamwOne(&c, lerp, p[i], g[i], m[i], v[i])
		g[i] = 0
	}
}

// adamwConsts are AdamW's coefficients in the order the assembly reads them: decay,
// w = 1−β1, 1−w, β2, 1−β2, bc2Sqrt, eps, stepSize.
type adamwConsts [8]float64

// adamwOne is AdamWF32 on one element (products rounded explicitly, so never fused).
func adamwOne(c *adamwConsts, lerp bool, p, g, m, v float32) (float32, float32, float32) {
	gi := float64(g)
	pi := float64(float64(p) * c[0])
	mi := float64(m)
	if lerp {
		mi += float64(c[1] * (gi - mi))
	} else {
		mi = gi - float64((gi-mi)*c[2])
	}
	vi := float64(float64(v)*c[3]) + float64(c[4]*float64(gi*gi))
	denom := math.Sqrt(vi)/c[5] + c[6]
	pi -= float64(c[7] * (mi / denom))
	return float32(pi), float32(mi), float32(vi)
}
