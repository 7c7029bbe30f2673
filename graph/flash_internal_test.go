package graph

import (
	"math"
	"testing"
)

// expShift32 stays within 2 float32 ulps of math.Exp on [−87.3, 0], gives exactly 0
// for −Inf and below the float32 normal range, and returns the row's sum.
func TestExpShift32(t *testing.T) {
	var row []float32
	for x := -87.3; x <= 0; x += 1e-3 {
		row = append(row, float32(x))
	}
	row = append(row, 0, float32(math.Inf(-1)), -100)
	in := append([]float32(nil), row...)
	sum := expShift32(row, 0)
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
	expShift32(r, 3)
	if math.Abs(float64(r[0])-math.Exp(-2)) > 1e-7 || r[1] != 1 {
		t.Errorf("exp([1 3] − 3) = %v", r)
	}
}
