package graph

import "testing"

// addInto32 splits long vectors into parts over the cores: every element is summed
// once, in place too (dst = a, as Program's in-place "+" does), partial last part
// included.
func TestAddInto32Parts(t *testing.T) {
	for _, n := range []int{0, 1, 7, addChunk, 3*addChunk + 5, 12 * addChunk} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(i%977)*0.5, float32(i%13)-6
		}
		want := make([]float32, n)
		for i := range want {
			want[i] = a[i] + b[i]
		}
		dst := make([]float32, n)
		addInto32(dst, a, b)
		addInto32(a, a, b)
		for i := range want {
			if dst[i] != want[i] || a[i] != want[i] {
				t.Fatalf("n=%d: element %d is %v (in place %v); want %v", n, i, dst[i], a[i], want[i])
			}
		}
	}
}
