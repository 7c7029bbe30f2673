//go:build !amd64 || purego

package vec

// geluBlocks and geluGradBlocks do no elements: without the assembly kernels the Go
// loops of vec.go do them all.
func geluBlocks(dst, src []float32) int { return 0 }

func geluGradBlocks(dx, x, y, dy []float32) int { return 0 }
