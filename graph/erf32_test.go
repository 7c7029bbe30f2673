package graph

import (
	"math"
	"testing"
)

// erf32 stays within 5e-7 of math.Erf everywhere (float32 resolution near ±1 is 6e-8).
func TestErf32(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -8.0; x <= 8; x += 1e-4 {
		xf := float32(x)
		if e := math.Abs(float64(erf32(xf)) - math.Erf(float64(xf))); e > worst {
			worst, at = e, x
		}
	}
	if worst > 5e-7 {
		t.Fatalf("erf32 is off by %.3g at %v", worst, at)
	}
	if erf32(0) != 0 || erf32(10) != erf32(4) || erf32(-10) != -erf32(10) {
		t.Fatal("erf32 is not odd or does not saturate")
	}
}
