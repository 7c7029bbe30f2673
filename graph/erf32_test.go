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

// The inline forms used by the float32 GELU agree with erf32 and math.Exp.
func TestGELUInlineMath(t *testing.T) {
	for x := float32(-14); x <= 14; x += 1e-3 {
		if d := math.Abs(float64(erfInline(x) - erf32(x))); d > 1e-7 {
			t.Fatalf("erfInline(%v) = %v, erf32 %v", x, erfInline(x), erf32(x))
		}
		want := math.Exp(-0.5 * float64(x) * float64(x))
		got := float64(expNegHalfSq(x))
		if want < 1.2e-38 {
			if got != 0 && math.Abs(got-want) > 1e-38 {
				t.Fatalf("expNegHalfSq(%v) = %v; want ≈ %v", x, got, want)
			}
			continue
		}
		if math.Abs(got-want) > 2e-7*(2+0.5*float64(x*x))*want+1e-43 { // x² itself is rounded to float32
			t.Fatalf("expNegHalfSq(%v) = %v; want %v", x, got, want)
		}
	}
}
