package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type triCase struct {
	gemmCase
	tri Tri
}

func (tc triCase) String() string {
	return fmt.Sprintf("%v kind=%d off=%d", tc.gemmCase, tc.tri.Kind, tc.tri.Off)
}

// zeroByTri reports whether op(A)(i, p) is one of the zeros that tri says op(A) has.
func zeroByTri(tri Tri, i, p int) bool {
	switch tri.Kind {
	case TriLowerA:
		return p > i+tri.Off
	case TriUpperA:
		return p < i+tri.Off
	}
	return false
}

// runTriCase runs GemmSerialTri and GemmSerial on the same operands (op(A) with the
// zeros tri promises, some of them −0) and checks GemmSerialTri against a float64
// reference, against GemmSerial (bit for bit where Tri promises it, up to the sign of
// a zero for TriLowerA) and that it writes nothing outside C's view.
func runTriCase(t *testing.T, rng *rand.Rand, tc triCase) {
	t.Helper()
	uni := func() float32 { return rng.Float32()*2 - 1 }
	A, B := tc.operands(rng, uni)
	aIdx := func(i, p int) int {
		if tc.tA {
			return A.off + p*A.ld + i
		}
		return A.off + i*A.ld + p
	}
	for i := 0; i < tc.m; i++ {
		for p := 0; p < tc.k; p++ {
			if zeroByTri(tc.tri, i, p) {
				A.data[aIdx(i, p)] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
			}
		}
	}
	cfill := uni
	if tc.nanC {
		cfill = func() float32 { return float32(math.NaN()) }
	}
	C := newMat(rng, tc.m, tc.n, tc.padC, tc.offC, cfill)
	C0 := append([]float32(nil), C.data...)
	full := append([]float32(nil), C.data...)
	GemmSerial(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, A.view(), A.ld, B.view(), B.ld, tc.beta, full[C.off:C.off+len(C.view())], C.ld)
	GemmSerialTri(tc.tri, tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, A.view(), A.ld, B.view(), B.ld, tc.beta, C.view(), C.ld)

	opB := func(p, j int) float32 {
		if tc.tB {
			return B.at(j, p)
		}
		return B.at(p, j)
	}
	opA := func(i, p int) float32 { return A.data[aIdx(i, p)] }
	inView := make([]bool, len(C.data))
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			idx := C.off + i*C.ld + j
			inView[idx] = true
			got, ref := C.data[idx], full[idx]
			wanted := tc.tri.Kind != TriLowerC || j <= i+tc.tri.Off
			if !wanted {
				if math.Float32bits(got) != math.Float32bits(C0[idx]) && math.Float32bits(got) != math.Float32bits(ref) {
					t.Fatalf("%v: unwanted C[%d,%d] = %g, neither its old value %g nor GemmSerial's %g", tc, i, j, got, C0[idx], ref)
				}
				continue
			}
			if want, tol := tc.reference(i, j, opA, opB, C0[idx]); !(math.Abs(float64(got)-want) <= tol) {
				t.Fatalf("%v: C[%d,%d] = %g, want %g (tol %g)", tc, i, j, got, want, tol)
			}
			same := math.Float32bits(got) == math.Float32bits(ref)
			if tc.tri.Kind == TriLowerA {
				same = got == ref // a zero may change sign
			}
			if !same {
				t.Fatalf("%v: C[%d,%d] = %g (%#x), GemmSerial gives %g (%#x)", tc, i, j, got, math.Float32bits(got), ref, math.Float32bits(ref))
			}
		}
	}
	for idx, v := range C.data {
		if !inView[idx] && math.Float32bits(v) != math.Float32bits(C0[idx]) {
			t.Fatalf("%v: element %d outside C's view changed: %g -> %g", tc, idx, C0[idx], v)
		}
	}
}

func TestGemmSerialTri(t *testing.T) {
	sizes := []int{1, 2, 5, 6, 7, 12, 13, 16, 17, 31, 33, 64, 65, 100}
	forEachKernel(t, func(t *testing.T, kr *kernel) {
		rng := rand.New(rand.NewPCG(21, 22))
		for i := 0; i < 150; i++ {
			tc := triCase{gemmCase: gemmCase{
				tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0,
				m: sizes[rng.IntN(len(sizes))], n: sizes[rng.IntN(len(sizes))], k: sizes[rng.IntN(len(sizes))],
				alpha: testAlphas[rng.IntN(3)], beta: testBetas[rng.IntN(3)],
			}}
			if rng.IntN(2) == 0 {
				tc.padA, tc.padB, tc.padC = rng.IntN(9), rng.IntN(9), rng.IntN(9)
				tc.offA, tc.offB, tc.offC = rng.IntN(5), rng.IntN(5), rng.IntN(5)
			}
			tc.nanC = tc.beta == 0 && rng.IntN(2) == 0
			tc.tri.Kind = TriKind(1 + i%3)
			span := max(tc.m, tc.n, tc.k)
			tc.tri.Off = rng.IntN(2*span+3) - span - 1
			if i%5 == 0 {
				tc.tri.Off = 0 // the attention tiles' case
			}
			runTriCase(t, rng, tc)
		}
		for _, kind := range []TriKind{TriLowerC, TriLowerA, TriUpperA} {
			for _, tA := range []bool{false, true} {
				tc := triCase{gemmCase: gemmCase{tA: tA, tB: !tA, m: 64, n: 64, k: 64, alpha: 0.5, beta: 1}, tri: Tri{Kind: kind}}
				runTriCase(t, rng, tc)
			}
		}
	})
}

// countingKernel is kr with every micro-kernel wrapped to add its k to *steps.
func countingKernel(kr *kernel, steps *int) *kernel {
	c := *kr
	wrap := func(f microKernel) microKernel {
		return func(k int, a *float32, as int, b, cc *float32, ldc int, alpha, beta float32) {
			*steps += k
			f(k, a, as, b, cc, ldc, alpha, beta)
		}
	}
	c.p, c.r = make([][]microKernel, len(kr.p)), nil
	for i, row := range kr.p {
		for _, f := range row {
			c.p[i] = append(c.p[i], wrap(f))
		}
	}
	for _, f := range kr.r {
		c.r = append(c.r, wrap(f))
	}
	return &c
}

// TestGemmSerialTriSkips checks that GemmSerialTri does skip work on a causal
// attention tile (64 × 64 × 64, Off = 0): the kernels run at most ~70% of the k-steps
// of GemmSerial (half, plus the tiles on the diagonal; less is skipped with 32-wide
// tiles).
func TestGemmSerialTriSkips(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kr *kernel) {
		const n = 64
		a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
		for _, kind := range []TriKind{TriLowerC, TriLowerA, TriUpperA} {
			var steps int
			defer useKernel(useKernel(countingKernel(kr, &steps)))
			GemmSerial(kind == TriUpperA, false, n, n, n, 1, a, n, b, n, 0, c, n)
			all := steps
			steps = 0
			GemmSerialTri(Tri{Kind: kind}, kind == TriUpperA, false, n, n, n, 1, a, n, b, n, 0, c, n)
			limit := all * 7 / 10
			if kind == TriLowerC && kr.nr > 16 {
				limit = all * 85 / 100 // 12×32 tiles: 2 of the 12 are above the diagonal
			}
			if steps > limit || steps == 0 {
				t.Errorf("kind %d: %d kernel steps, GemmSerial %d: want at most %d", kind, steps, all, limit)
			}
		}
	})
}
