package graph

import (
	"time"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/num"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// PeakSize is the side of the square product GemmPeak times.
const PeakSize = 512

// GemmPeak measures the matrix-multiply speed this machine gives the graph's ops in
// dtype dt: square PeakSize products through the same GEMM the ops call (attend's
// SIMD kernels for float32, gonum's for float64, on every helper of the pool), repeated
// for about d after one untimed product, in GFLOP/s (2·n³ per product). A model's
// achieved GFLOP/s divided by it is how close to the machine a step runs.
func GemmPeak(dt tensor.Dtype, d time.Duration) (float64, error) {
	run, err := num.ByDtype(dt, gemmPeak[float64], gemmPeak[float32])
	if err != nil {
		return 0, attend.Wrap(errors.Wrap(attend.ErrDtype, err.Error()), "graph: GemmPeak")
	}
	return run(d), nil
}

func gemmPeak[T num.Float](d time.Duration) float64 {
	const n = PeakSize
	a, b, c := make([]T, n*n), make([]T, n*n), make([]T, n*n)
	for i := range a {
		a[i] = T(i%7) / 7
		b[i] = T(i%5) / 5
	}
	gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm-up: packing buffers, helpers
	start := time.Now()
	reps := 0
	for reps == 0 || time.Since(start) < d {
		gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		reps++
	}
	return 2 * n * n * n * float64(reps) / time.Since(start).Seconds() / 1e9
}
