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

// addPositions adds the position rows to every batch row (over the cores).
func TestAddPositionsRows(t *testing.T) {
	const rows, tc = 5, 3 * addChunk / 2
	x, pos := make([]float32, rows*tc), make([]float32, tc+7) // pos may have more rows than T
	for i := range x {
		x[i] = float32(i%101) * 0.25
	}
	for i := range pos {
		pos[i] = float32(i%7) - 3.5
	}
	out := make([]float32, len(x))
	addPositions(out, x, pos, tc)
	x64, pos64, out64 := make([]float64, len(x)), make([]float64, len(pos)), make([]float64, len(x))
	for i := range x {
		x64[i] = float64(x[i])
	}
	for i := range pos {
		pos64[i] = float64(pos[i])
	}
	addPositions(out64, x64, pos64, tc)
	for i := range out {
		if want := x[i] + pos[i%tc]; out[i] != want || out64[i] != float64(want) {
			t.Fatalf("element %d: %v (float64 %v); want %v", i, out[i], out64[i], want)
		}
	}
}
