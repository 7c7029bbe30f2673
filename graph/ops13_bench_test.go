package graph

import (
	"fmt"
	"testing"
)

// BenchmarkOps13Kernels times the float32 loops of the decoder blocks beside GELU's, on
// the MLP activation of one training step at width 128 (12·64 tokens × 512 hidden) and
// RMSNorm on its (768, 128) input. Forward and backward each.
func BenchmarkOps13Kernels(b *testing.B) {
	const rows, width, hidden = 12 * 64, 128, 512
	n := rows * hidden
	x, u, dy, y, dx := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], u[i], dy[i] = float32(i%17)/4-2, float32(i%5)-2, float32(i%3)-1
	}
	gain := make([]float32, width)
	for i := range gain {
		gain[i] = 1 + float32(i%4)/8
	}
	acc := make([]float64, width)
	mean, rstd := make([]float64, rows), make([]float64, rows)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"gelu/forward", func() { geluForward32(y, x) }},
		{"gelu/backward", func() { geluBackward32(dx, x, y, dy) }},
		{"silu/forward", func() { elementwise(siluForward[float32], 12, 0, y, x, nil, nil) }},
		{"silu/backward", func() { elementwise(siluGrad[float32], 12, 0, dx, x, dy, nil) }},
		{"swiglu/forward", func() { elementwise(swigluForward[float32], 14, 0, y, x, u, nil) }},
		{"swiglu/backward-a", func() { elementwise(swigluGradA[float32], 14, 0, dx, x, u, dy) }},
		{"swiglu/backward-b", func() { elementwise(swigluGradB[float32], 14, 0, dx, x, u, dy) }},
		{"relu2/forward", func() { elementwise(relu2Forward[float32], 2, 0, y, x, nil, nil) }},
		{"relu2/backward", func() { elementwise(relu2Grad[float32], 2, 0, dx, x, dy, nil) }},
		{"softcap/forward", func() { elementwise(softCapForward[float32], 20, 15, y, x, nil, nil) }},
		{"softcap/backward", func() { elementwise(softCapGrad[float32], 20, 15, dx, x, dy, nil) }},
		{"rmsnorm/forward", func() { rmsNormForward(y[:rows*width], x[:rows*width], gain, width, 1e-5) }},
		{"rmsnorm/backward-x", func() { rmsNormGradX(dx[:rows*width], x[:rows*width], dy[:rows*width], gain, width, 1e-5) }},
		{"rmsnorm/backward-gain", func() { rmsNormGradGain(gain, x[:rows*width], dy[:rows*width], width, 1e-5, acc) }},
		{"layernorm/forward", func() { layerNormForward(y[:rows*width], x[:rows*width], gain, nil, width, 1e-5, mean, rstd) }},
		{"layernorm/backward-x", func() { layerNormGradX(dx[:rows*width], x[:rows*width], gain, dy[:rows*width], width, mean, rstd) }},
		{"layernorm/backward-gain", func() { layerNormGradGain(gain, x[:rows*width], dy[:rows*width], width, mean, rstd, acc) }},
	} {
		b.Run(fmt.Sprint(c.name), func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
		})
	}
}
