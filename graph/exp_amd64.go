//go:build amd64 && !purego

package graph

import "golang.org/x/sys/cpu"

// useExpAVX2 picks the AVX2 exponential of expShift32.
var useExpAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func expShiftAVX2(row *float32, n int, m float32) float32

// expShift32Fast does the first len(row) &^ 7 elements of expShift32 with AVX2 and
// returns their sum and how many it did.
func expShift32Fast(row []float32, m float32) (float32, int) {
	n := len(row) &^ 7
	if !useExpAVX2 || n == 0 {
		return 0, 0
	}
	return expShiftAVX2(&row[0], n, m), n
}
