package graph

import (
	"regexp"
	"testing"
)

func TestKernelsNamesBoth(t *testing.T) {
	k := Kernels()
	if !regexp.MustCompile(`^gemm (avx512|avx2|neon|generic), vector (avx512|avx2|neon|go)$`).MatchString(k) {
		t.Fatalf("Kernels() = %q", k)
	}
	t.Log(k)
}
