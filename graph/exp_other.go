//go:build !amd64 || purego

package graph

// useExpAVX2 is false: no assembly on this build.
const useExpAVX2 = false

// expShift32Fast does nothing without assembly: expShift32 does every element.
func expShift32Fast(row []float32, m float32) (float32, int) { return 0, 0 }
