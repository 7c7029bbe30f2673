package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/par"
)

// mat is a matrix view inside a larger slice: element (i, j) is
// data[off+i*ld+j]. Everything outside the view is a sentinel.
type mat struct {
	data          []float32
	off, rows, ld int
	cols          int
}

const sentinel = float32(-12345.5)

func newMat(rng *rand.Rand, rows, cols, pad, off int, fill func() float32) mat {
	ld := max(1, cols+pad)
	n := off + 7
	if rows > 0 {
		n += (rows-1)*ld + cols
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = sentinel
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			data[off+i*ld+j] = fill()
		}
	}
	return mat{data: data, off: off, rows: rows, cols: cols, ld: ld}
}

func (x mat) at(i, j int) float32 { return x.data[x.off+i*x.ld+j] }

// view is the slice handed to Gemm: from the first element to exactly the
// BLAS length, so reads past it would panic or be caught by -race/asan.
func (x mat) view() []float32 {
	if x.rows == 0 || x.cols == 0 {
		return x.data[x.off:x.off]
	}
	return x.data[x.off : x.off+(x.rows-1)*x.ld+x.cols]
}

type gemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	nanC        bool
	padA, padB  int
	padC        int
	offA, offB  int
	offC        int
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%g beta=%g nanC=%v pad=%d,%d,%d",
		tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.nanC, tc.padA, tc.padB, tc.padC)
}

type gemmFunc func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// operands returns A and B for tc as stored (Aᵀ or Bᵀ when transposed), filled with fill.
func (tc gemmCase) operands(rng *rand.Rand, fill func() float32) (A, B mat) {
	ra, ca := tc.m, tc.k
	if tc.tA {
		ra, ca = tc.k, tc.m
	}
	rb, cb := tc.k, tc.n
	if tc.tB {
		rb, cb = tc.n, tc.k
	}
	return newMat(rng, ra, ca, tc.padA, tc.offA, fill), newMat(rng, rb, cb, tc.padB, tc.offB, fill)
}

// reference is C(i, j) of tc in float64, from op(A) and op(B) and C's old value c0,
// with the tolerance of a float32 product: 2e-7·(k+4) times the sum of the terms' sizes.
func (tc gemmCase) reference(i, j int, opA, opB func(int, int) float32, c0 float32) (want, tol float64) {
	var sum, abs float64
	for p := 0; p < tc.k; p++ {
		x := float64(opA(i, p)) * float64(opB(p, j))
		sum += x
		abs += math.Abs(x)
	}
	want = float64(tc.alpha) * sum
	bound := math.Abs(float64(tc.alpha)) * abs
	if tc.beta != 0 {
		want += float64(tc.beta) * float64(c0)
		bound += math.Abs(float64(tc.beta) * float64(c0))
	}
	return want, 2e-7*float64(tc.k+4)*bound + 1e-30
}

func runCase(t *testing.T, rng *rand.Rand, f gemmFunc, tc gemmCase) {
	t.Helper()
	uni := func() float32 { return rng.Float32()*2 - 1 }
	A, B := tc.operands(rng, uni)
	cfill := uni
	if tc.nanC {
		cfill = func() float32 { return float32(math.NaN()) }
	}
	C := newMat(rng, tc.m, tc.n, tc.padC, tc.offC, cfill)
	C0 := append([]float32(nil), C.data...)
	opA := func(i, p int) float32 {
		if tc.tA {
			return A.at(p, i)
		}
		return A.at(i, p)
	}
	opB := func(p, j int) float32 {
		if tc.tB {
			return B.at(j, p)
		}
		return B.at(p, j)
	}

	f(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, A.view(), A.ld, B.view(), B.ld, tc.beta, C.view(), C.ld)

	inView := make([]bool, len(C.data))
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			idx := C.off + i*C.ld + j
			inView[idx] = true
			want, tol := tc.reference(i, j, opA, opB, C0[idx])
			got := float64(C.data[idx])
			if !(math.Abs(got-want) <= tol) {
				t.Fatalf("%v: C[%d,%d] = %g, want %g (tol %g)", tc, i, j, got, want, tol)
			}
		}
	}
	for idx, v := range C.data {
		if !inView[idx] && math.Float32bits(v) != math.Float32bits(C0[idx]) {
			t.Fatalf("%v: element %d outside C's view changed: %g -> %g", tc, idx, C0[idx], v)
		}
	}
}

var (
	testSizes  = []int{1, 2, 5, 6, 7, 15, 16, 17, 31, 33, 64, 65, 127, 128, 200, 257, 768}
	testAlphas = []float32{1, 0.5, -2}
	testBetas  = []float32{0, 1, 0.3}
)

func randomCase(rng *rand.Rand, maxWork int) gemmCase {
	for {
		tc := gemmCase{
			tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0,
			m:     testSizes[rng.IntN(len(testSizes))],
			n:     testSizes[rng.IntN(len(testSizes))],
			k:     testSizes[rng.IntN(len(testSizes))],
			alpha: testAlphas[rng.IntN(3)], beta: testBetas[rng.IntN(3)],
		}
		if tc.m*tc.n*tc.k > maxWork {
			continue
		}
		if rng.IntN(2) == 0 {
			tc.padA, tc.padB, tc.padC = rng.IntN(9), rng.IntN(9), rng.IntN(9)
			tc.offA, tc.offB, tc.offC = rng.IntN(5), rng.IntN(5), rng.IntN(5)
		}
		tc.nanC = tc.beta == 0 && rng.IntN(2) == 0
		return tc
	}
}

// testKernels is every kernel usable on this machine, each also with tiny
// blocking parameters so that small tests cross every block boundary.
func testKernels() []*kernel {
	var ks []*kernel
	for _, kr := range kernels {
		ks = append(ks, kr)
		tiny := *kr
		tiny.variant += "-tinyblocks"
		tiny.kc, tiny.mc, tiny.nc = 7, 2*kr.mr, 2*kr.nr
		ks = append(ks, &tiny)
		packed := *kr
		packed.variant += "-packA"
		packed.alwaysPackA = true
		packed.kc, packed.mc, packed.nc = 9, 3*kr.mr, 3*kr.nr
		ks = append(ks, &packed)
	}
	return ks
}

func forEachKernel(t *testing.T, f func(t *testing.T, kr *kernel)) {
	for _, kr := range testKernels() {
		t.Run(kr.name+"-"+kr.variant, func(t *testing.T) {
			defer useKernel(useKernel(kr))
			f(t, kr)
		})
	}
}

func TestKernelSelected(t *testing.T) {
	t.Logf("kernel %s (%s), %d kernels available, par.Threads()=%d", Kernel(), kernels[0].variant, len(kernels), par.Threads())
	if Kernel() != kernels[0].name {
		t.Fatalf("Kernel() = %q, want %q", Kernel(), kernels[0].name)
	}
}

func TestGemmSmallExhaustive(t *testing.T) {
	small := []int{1, 2, 5, 6, 7, 15, 16, 17, 33}
	forEachKernel(t, func(t *testing.T, kr *kernel) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, m := range small {
			for _, n := range small {
				for _, k := range small {
					tc := gemmCase{tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0, m: m, n: n, k: k,
						alpha: testAlphas[rng.IntN(3)], beta: testBetas[rng.IntN(3)],
						padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3), offA: 1, offB: 2, offC: 3}
					tc.nanC = tc.beta == 0
					runCase(t, rng, GemmSerial, tc)
				}
			}
		}
	})
}

func TestGemmTransposesAndScalars(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kr *kernel) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, alpha := range testAlphas {
					for _, beta := range testBetas {
						for _, nanC := range []bool{false, true} {
							if nanC && beta != 0 {
								continue
							}
							tc := gemmCase{tA: tA, tB: tB, m: 33, n: 65, k: 31, alpha: alpha, beta: beta, nanC: nanC,
								padA: 3, padB: 5, padC: 1, offA: 2, offB: 1, offC: 4}
							runCase(t, rng, GemmSerial, tc)
						}
					}
				}
			}
		}
	})
}

func TestGemmRandomShapes(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kr *kernel) {
		rng := rand.New(rand.NewPCG(5, 6))
		for i := 0; i < 60; i++ {
			runCase(t, rng, GemmSerial, randomCase(rng, 3_000_000))
		}
	})
}

// TestGemmParallel checks the split paths of Gemm (rows and columns) and
// that they agree with the serial result.
func TestGemmParallel(t *testing.T) {
	old := parallelMinWork
	defer func() { parallelMinWork = old }()
	defer par.SetThreads(par.SetThreads(4)) // more parts than cores is fine
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pm := range []int{old, 1} {
		parallelMinWork = pm
		for _, tc := range []gemmCase{
			{m: 768, n: 128, k: 128, alpha: 1, beta: 0, nanC: true},
			{tA: true, m: 128, n: 768, k: 200, alpha: 0.5, beta: 0.3, padA: 3, padC: 2, offA: 1, offC: 5},
			{tA: true, m: 70, n: 700, k: 600, alpha: 1, beta: 0.5, padA: 1, padC: 3, offA: 2},
			{tB: true, m: 257, n: 65, k: 257, alpha: -2, beta: 1, padB: 4, offB: 3},
			{tA: true, tB: true, m: 31, n: 200, k: 64, alpha: 1, beta: 0.3},
			{m: 7, n: 5, k: 3, alpha: 1, beta: 0},
		} {
			runCase(t, rng, Gemm, tc)
		}
		for i := 0; i < 10; i++ {
			runCase(t, rng, Gemm, randomCase(rng, 3_000_000))
		}
	}
}

// TestGemmDeterministic checks that Gemm's split paths give bit-for-bit
// GemmSerial's result: every element of C is computed by one goroutine
// with the same arithmetic whatever the split.
func TestGemmDeterministic(t *testing.T) {
	old := parallelMinWork
	defer func() { parallelMinWork = old }()
	parallelMinWork = 1
	defer par.SetThreads(par.SetThreads(3))
	rng := rand.New(rand.NewPCG(13, 14))
	for _, s := range []struct {
		tA, tB  bool
		m, n, k int
	}{{false, false, 768, 65, 130}, {true, false, 128, 512, 300}, {false, true, 131, 97, 257}, {true, true, 300, 40, 520},
		// Split by columns with op(A) = Aᵀ packed once for all chunks (packWholeA):
		// a partial last panel of rows, three K blocks, and (m = 150) two M blocks.
		{true, false, 70, 700, 600}, {true, true, 70, 700, 600}, {true, false, 150, 700, 600}} {
		if s.k == 600 {
			if splitM, _, n := splitPlan(activeKernel.Load(), 3, s.tA, s.m, s.n, s.k); splitM || n < 2 {
				t.Fatalf("%+v: splitPlan gives splitM=%v, %d chunks; the case is meant to split columns", s, splitM, n)
			}
		}
		lda, ldb, ldc := s.k+1, s.n+2, s.n+3
		if s.tA {
			lda = s.m + 1
		}
		if s.tB {
			ldb = s.k + 2
		}
		a := make([]float32, max(s.m, s.k)*lda)
		b := make([]float32, max(s.n, s.k)*ldb)
		c0 := make([]float32, s.m*ldc)
		for _, x := range [][]float32{a, b, c0} {
			for i := range x {
				x[i] = rng.Float32()*2 - 1
			}
		}
		want := append([]float32(nil), c0...)
		GemmSerial(s.tA, s.tB, s.m, s.n, s.k, 0.7, a, lda, b, ldb, 0.3, want, ldc)
		for rep := 0; rep < 5; rep++ {
			got := append([]float32(nil), c0...)
			Gemm(s.tA, s.tB, s.m, s.n, s.k, 0.7, a, lda, b, ldb, 0.3, got, ldc)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v: Gemm and GemmSerial differ at %d: %v vs %v", s, i, got[i], want[i])
				}
			}
		}
	}
}

func TestGemmConcurrentCallers(t *testing.T) {
	old := parallelMinWork
	defer func() { parallelMinWork = old }()
	parallelMinWork = 1
	done := make(chan bool)
	for g := 0; g < 6; g++ {
		go func(seed uint64) {
			rng := rand.New(rand.NewPCG(seed, 9))
			for i := 0; i < 5; i++ {
				runCase(t, rng, Gemm, randomCase(rng, 500_000))
			}
			done <- true
		}(uint64(g))
	}
	for g := 0; g < 6; g++ {
		<-done
	}
}

func TestGemmDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, f := range []gemmFunc{Gemm, GemmSerial} {
		for _, beta := range testBetas {
			// k == 0: C = beta·C.
			runCase(t, rng, f, gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: beta, padC: 2, offC: 1})
			runCase(t, rng, f, gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0, nanC: true})
			// alpha == 0: A and B are not read.
			runCase(t, rng, f, gemmCase{m: 5, n: 7, k: 3, alpha: 0, beta: beta})
		}
		// m or n == 0: nothing happens, even with empty slices.
		f(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
		f(false, false, 4, 0, 3, 1, make([]float32, 12), 3, nil, 1, 0, nil, 1)
	}
}

func TestGemmPanics(t *testing.T) {
	a := make([]float32, 100)
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"negative m", func() { GemmSerial(false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, "negative dimension"},
		{"lda", func() { Gemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }, "lda too small"},
		{"ldb tB", func() { Gemm(false, true, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }, "ldb too small"},
		{"ldc", func() { Gemm(false, false, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }, "ldc too small"},
		{"len a", func() { Gemm(false, false, 10, 2, 10, 1, a[:99], 10, a, 2, 0, a, 2) }, "len(a) too small"},
		{"len b", func() { Gemm(false, false, 2, 10, 10, 1, a, 10, a[:99], 10, 0, a, 10) }, "len(b) too small"},
		{"len c", func() { Gemm(false, false, 10, 10, 1, 1, a, 1, a, 10, 0, a[:99], 10) }, "len(c) too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.HasPrefix(s, "sgemm: ") || !strings.Contains(s, tc.msg) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestGemmSerialNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, kr := range kernels {
		t.Run(kr.name, func(t *testing.T) {
			defer useKernel(useKernel(kr))
			m, n, k := 300, 70, 260
			a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			GemmSerial(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
			if allocs := testing.AllocsPerRun(50, func() {
				GemmSerial(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				GemmSerial(true, false, m, n, k, 1, a, m, b, n, 0.5, c, n)
			}); allocs != 0 {
				t.Fatalf("GemmSerial: %v allocs per run, want 0", allocs)
			}
		})
	}
}
