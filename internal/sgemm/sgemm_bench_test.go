package sgemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

type benchShape struct {
	name    string
	tA, tB  bool
	m, n, k int
	serial  bool // the per-head shapes: callers parallelise over heads
}

// gemm is the function the shape's callers use: GemmSerial for the per-head shapes,
// else Gemm.
func (s benchShape) gemm() func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if s.serial {
		return GemmSerial
	}
	return Gemm
}

// trans is the shape's tA and tB as BLAS transposes.
func (s benchShape) trans() (ta, tb blas.Transpose) {
	ta, tb = blas.NoTrans, blas.NoTrans
	if s.tA {
		ta = blas.Trans
	}
	if s.tB {
		tb = blas.Trans
	}
	return ta, tb
}

// Shapes of one GPT training step (width 128, MLP 512, 12×64 tokens, vocab 65).
var benchShapes = []benchShape{
	{name: "qkv_768x128x128", m: 768, n: 128, k: 128},
	{name: "mlpUp_768x128x512", m: 768, n: 512, k: 128},
	{name: "mlpDown_768x512x128", m: 768, n: 128, k: 512},
	{name: "head_768x128x65", m: 768, n: 65, k: 128},
	{name: "dW_AtB_128x768x128", tA: true, m: 128, n: 128, k: 768},
	{name: "dW_AtB_128x768x512", tA: true, m: 128, n: 512, k: 768},
	{name: "dX_ABt_768x512x128", tB: true, m: 768, n: 128, k: 512},
	{name: "attn_64x32x64_serial", m: 64, n: 64, k: 32, serial: true},
	{name: "attnQKt_64x32x64_serial", tB: true, m: 64, n: 64, k: 32, serial: true},
}

func benchData(s benchShape) (a, b, c []float32, lda, ldb, ldc int) {
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	lda, ldb, ldc = s.k, s.n, s.n
	if s.tA {
		lda = s.m
	}
	if s.tB {
		ldb = s.k
	}
	return fill(s.m * s.k), fill(s.k * s.n), fill(s.m * s.n), lda, ldb, ldc
}

func reportGFLOPS(b *testing.B, s benchShape) {
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// BenchmarkGemm compares Gemm (parallel), GemmSerial and gonum's blas32 on
// the shapes of a GPT step, in one run.
func BenchmarkGemm(b *testing.B) {
	for _, s := range benchShapes {
		a, bb, c, lda, ldb, ldc := benchData(s)
		impls := []struct {
			name string
			f    gemmFunc
		}{{"ours", Gemm}, {"ours_serial", GemmSerial}}
		if s.serial {
			impls = impls[1:]
		}
		for _, im := range impls {
			b.Run(s.name+"/"+im.name, func(b *testing.B) {
				b.ReportAllocs()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mallocs := ms.Mallocs
				for b.Loop() {
					im.f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
				}
				runtime.ReadMemStats(&ms)
				// Steady state allocates nothing; allow the first call's
				// buffers and helper goroutine (0 allocs/op as go test counts).
				if n := ms.Mallocs - mallocs; n >= uint64(b.N) {
					b.Errorf("%d allocations in %d calls, want 0 per call", n, b.N)
				}
				reportGFLOPS(b, s)
			})
		}
		b.Run(s.name+"/gonum", func(b *testing.B) {
			ta, tb := blas.NoTrans, blas.NoTrans
			ga := blas32.General{Rows: s.m, Cols: s.k, Stride: lda, Data: a}
			gb := blas32.General{Rows: s.k, Cols: s.n, Stride: ldb, Data: bb}
			if s.tA {
				ta, ga.Rows, ga.Cols = blas.Trans, s.k, s.m
			}
			if s.tB {
				tb, gb.Rows, gb.Cols = blas.Trans, s.n, s.k
			}
			gc := blas32.General{Rows: s.m, Cols: s.n, Stride: ldc, Data: c}
			b.ReportAllocs()
			for b.Loop() {
				blas32.Gemm(ta, tb, 1, ga, gb, 0, gc)
			}
			reportGFLOPS(b, s)
		})
	}
}

// BenchmarkKernels runs GemmSerial with every kernel available here.
func BenchmarkKernels(b *testing.B) {
	ks := append([]*kernel(nil), kernels...)
	for _, s := range benchShapes {
		a, bb, c, lda, ldb, ldc := benchData(s)
		for _, kr := range ks {
			b.Run(fmt.Sprintf("%s/%s-%s", s.name, kr.name, kr.variant), func(b *testing.B) {
				defer useKernel(useKernel(kr))
				for b.Loop() {
					GemmSerial(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
				}
				reportGFLOPS(b, s)
			})
		}
	}
}

// BenchmarkGemmPureGo compares the portable Go kernel (genericKernel, what
// runs under -tags purego) with gonum's Sgemm (gonum.org/v1/gonum/blas/gonum)
// on the shapes of a GPT step: Gemm (GemmSerial for the per-head shapes)
// against gonum's Sgemm, which splits large products across goroutines too.
// On amd64 gonum's Sgemm calls SSE assembly for its inner loops unless built
// with -tags noasm; for pure Go on both sides run
//
//	go test -tags purego,noasm -run XXX -bench GemmPureGo ./internal/sgemm
func BenchmarkGemmPureGo(b *testing.B) {
	for _, s := range benchShapes {
		a, bb, c, lda, ldb, ldc := benchData(s)
		b.Run("attend/"+s.name, func(b *testing.B) {
			defer useKernel(useKernel(genericKernel))
			f := s.gemm()
			for b.Loop() {
				f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
			}
			reportGFLOPS(b, s)
		})
		b.Run("gonum/"+s.name, func(b *testing.B) {
			ta, tb := s.trans()
			var impl gonum.Implementation
			for b.Loop() {
				impl.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
			}
			reportGFLOPS(b, s)
		})
	}
}
