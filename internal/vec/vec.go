package vec

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
