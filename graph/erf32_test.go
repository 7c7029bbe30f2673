package graph

import (
	"math"
	"testing"
)

// exp32 stays within 2 ulps of math.Exp over the float32 range, and saturates right.
func TestExp32(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -87.0; x <= 88.7; x += 1e-3 {
		xf := float32(x)
		want := math.Exp(float64(xf))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		if e := math.Abs(float64(exp32(xf))-want) / ulp; e > worst {
			worst, at = e, x
		}
	}
	if worst > 2 {
		t.Fatalf("exp32 is off by %.2f ulp at %v", worst, at)
	}
	if exp32(-100) != 0 || !math.IsInf(float64(exp32(100)), 1) || exp32(0) != 1 {
		t.Fatal("exp32 saturates wrongly")
	}
	t.Logf("exp32: worst %.2f ulp", worst)
}
