package graph

import (
	"math"
	"testing"
)

// expShift stays (float32) within 2 float32 ulps of math.Exp on [−87.3, 0], gives exactly 0
// for −Inf and below the float32 normal range, and returns the row's sum.
func TestExpShift32(t *testing.T) {
	var row []float32
	for x := -87.3; x <= 0; x += 1e-3 {
		row = append(row, float32(x))
	}
	row = append(row, 0, float32(math.Inf(-1)), -100)
	in := append([]float32(nil), row...)
	sum := expShift(row, float32(0))
	want := 0.0
	for i, x := range in {
		w := math.Exp(float64(x))
		want += w
		if math.IsInf(float64(x), -1) || x < -87.33654 {
			if row[i] != 0 {
				t.Fatalf("exp(%v) = %v, want 0", x, row[i])
			}
			continue
		}
		ulp := float64(math.Nextafter32(float32(w), float32(math.Inf(1))) - float32(w))
		if e := math.Abs(float64(row[i]) - w); e > 2*ulp {
			t.Fatalf("exp(%v) = %v, want %v (%.2g ulps)", x, row[i], w, e/ulp)
		}
	}
	if math.Abs(sum-want) > 1e-5*want {
		t.Errorf("sum %v, want %v", sum, want)
	}
	// The shift: exp(x − m).
	r := []float32{1, 3}
	expShift(r, float32(3))
	if math.Abs(float64(r[0])-math.Exp(-2)) > 1e-7 || r[1] != 1 {
		t.Errorf("exp([1 3] − 3) = %v", r)
	}
}

// addRowSums gives each row exactly the sequential float64 sum of its range (added to
// l), whatever the other rows' lengths, with fewer or more than four rows.
func TestAddRowSums(t *testing.T) {
	x := make([]float32, 9*20)
	for i := range x {
		x[i] = float32(math.Exp(float64(i%37)/3 - 9)) // magnitudes far apart: order matters
	}
	for _, n := range []int{1, 3, 4, 6, 9} {
		lo, hi := make([]int, n), make([]int, n)
		l, want := make([]float64, n), make([]float64, n)
		for r := range n {
			lo[r], hi[r] = r*20+r%3, r*20+min(20, 5+3*r)
			if r == 2 {
				hi[r] = lo[r] // an empty row
			}
			l[r], want[r] = 0.25*float64(r), 0.25*float64(r)
			var s float64
			for _, e := range x[lo[r]:hi[r]] {
				s += float64(e)
			}
			want[r] += s
		}
		addRowSums(l, x, lo, hi)
		for r := range n {
			if math.Float64bits(l[r]) != math.Float64bits(want[r]) {
				t.Fatalf("%d rows: l[%d] = %v, want %v", n, r, l[r], want[r])
			}
		}
	}
}
