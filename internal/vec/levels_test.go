package vec

import "testing"

// eachLevel runs f as a subtest for each form of the kernels that runs here (on amd64:
// avx512, avx2 and go, as far as the CPU has them), so one ordinary test run checks
// them all.
func eachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, name := range levels() {
		restore := setLevel(name)
		t.Run(name, f)
		restore()
	}
}

// benchLevels runs f as a sub-benchmark for each form of the kernels that runs here.
func benchLevels(b *testing.B, f func(b *testing.B)) {
	for _, name := range levels() {
		restore := setLevel(name)
		b.Run(name, f)
		restore()
	}
}
