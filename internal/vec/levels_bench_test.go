package vec

import "testing"

// The benchmarks of each kernel family at every form that runs here
// (BenchmarkGeluGradLevels/avx512 against …/avx2 and …/go), on 768 rows of 512 (the
// activations of a small model's batch), the bytes of one input counted.
const benchRows, benchCols = 768, 512

func BenchmarkGeluLevels(b *testing.B) {
	x, y := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			GeluF32(y, x)
		}
	})
}

func BenchmarkGeluGradLevels(b *testing.B) {
	x, y, dx := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols), make([]float32, benchRows*benchCols)
	GeluF32(y, x)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			GeluGradF32(dx, x, y, x)
		}
	})
}

func BenchmarkExpShiftLevels(b *testing.B) {
	x, y := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			ExpShiftF32(y, x, 3)
		}
	})
}

// BenchmarkSoftmaxLevels is the softmax of each row (MaxF32, ExpShiftF32, the sum,
// ScaleF32).
func BenchmarkSoftmaxLevels(b *testing.B) {
	x, y := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			for r := range benchRows {
				SoftmaxF32(y[r*benchCols:(r+1)*benchCols], x[r*benchCols:(r+1)*benchCols], benchCols)
			}
		}
	})
}

func BenchmarkMaxLevels(b *testing.B) {
	x := benchInput(benchRows * benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			MaxF32(x)
		}
	})
}

func BenchmarkScaleLevels(b *testing.B) {
	x := benchInput(benchRows * benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			ScaleF32(x, 1)
		}
	})
}

func BenchmarkAddLevels(b *testing.B) {
	x, y, z := benchInput(benchRows*benchCols), benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			AddF32(z, x, y)
		}
	})
}

func BenchmarkSoftmaxGradLevels(b *testing.B) {
	p, g, dx := benchInput(benchRows*benchCols), benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(p)))
		for b.Loop() {
			SoftmaxGradF32(dx, p, g, benchCols)
		}
	})
}

func BenchmarkAdamWLevels(b *testing.B) {
	n := benchRows * benchCols
	p, g, m, v := benchInput(n), benchInput(n), benchInput(n), benchInput(n)
	for i := range v {
		v[i] *= v[i]
	}
	k := AdamW{Decay: 0.9999, Beta1: 0.9, Beta2: 0.99, StepSize: 1e-3, Bc2Sqrt: 0.1, Eps: 1e-8}
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * n))
		for b.Loop() {
			AdamWF32(p, g, m, v, k)
		}
	})
}

func BenchmarkLayerNormLevels(b *testing.B) {
	x, y, g := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols), benchInput(benchCols)
	mean, rstd := make([]float64, benchRows), make([]float64, benchRows)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			LayerNormF32(y, x, g, g, benchCols, 1e-5, mean, rstd)
		}
	})
}

func BenchmarkLayerNormGradXLevels(b *testing.B) {
	x, dx, dy, g := benchInput(benchRows*benchCols), make([]float32, benchRows*benchCols), benchInput(benchRows*benchCols), benchInput(benchCols)
	mean, rstd := make([]float64, benchRows), make([]float64, benchRows)
	LayerNormF32(dx, x, g, nil, benchCols, 1e-5, mean, rstd)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			LayerNormGradXF32(dx, x, g, dy, benchCols, mean, rstd)
		}
	})
}

func BenchmarkLayerNormGradGainLevels(b *testing.B) {
	x, dy, acc := benchInput(benchRows*benchCols), benchInput(benchRows*benchCols), make([]float64, benchCols)
	mean, rstd := make([]float64, benchRows), make([]float64, benchRows)
	LayerNormF32(make([]float32, len(x)), x, benchInput(benchCols), nil, benchCols, 1e-5, mean, rstd)
	benchLevels(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			LayerNormGradGainF32(acc, x, dy, benchCols, 0, mean, rstd)
		}
	})
}
