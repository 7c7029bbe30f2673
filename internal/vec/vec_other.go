//go:build !(amd64 || arm64) || purego

package vec

import "math"

// The *Blocks functions do no elements: without the assembly kernels the Go loops of
// vec.go do them all.
func geluBlocks(dst, src []float32) int { return 0 }

func geluGradBlocks(dx, x, y, dy []float32) int { return 0 }

func maxBlocks(x []float32) (float32, int) { return float32(math.Inf(-1)), 0 }

func expShiftBlocks(dst, src []float32, shift float32) int { return 0 }

func scaleBlocks(x []float32, s float64) int { return 0 }

func adamwBlocks(p, g, m, v []float32, c *adamwConsts, lerp bool) int { return 0 }

func layerNormRowBlocks(y, x, g, b []float32, mean, rstd float64) int { return 0 }

func layerNormGradRowBlocks(dx, x, g, dy []float32, mean, rstd, m1, m2 float64) int { return 0 }

func gainAccBlocks(acc []float64, x, dy []float32, mean, rstd float64) int { return 0 }

func gainColsBlocks(acc []float64, x, dy []float32, c int, mean, rstd []float64) int { return 0 }

func addBlocks(dst, a, b []float32) int { return 0 }

func softmaxGradBlocks(dx, p, g []float32, d float32) int { return 0 }

func rowSums8(x []float32, c int, m, vr *[8]float64) bool { return false }

func gradSums8(x, dy, g []float32, c int, mean, rstd, a, b *[8]float64) bool { return false }

// Form names the form of the kernels that runs: always "go" here.
func Form() string { return "go" }
