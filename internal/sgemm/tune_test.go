package sgemm

// Tuning experiments, skipped unless SGEMM_TUNE=1:
//
//	SGEMM_TUNE=1 go test -run Tune -v ./internal/sgemm/
//	go test -run XXX -bench KernelPeak ./internal/sgemm/
//
// On a shared, noisy machine "go test -bench" numbers drift by ±30% from one
// run to the next; these interleave the variants round-robin and report the
// best of 25 batches, which is what comparisons should rest on.

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"gonum.org/v1/gonum/blas/gonum"
)

func skipUnlessTuning(t *testing.T) {
	if os.Getenv("SGEMM_TUNE") == "" {
		t.Skip("tuning experiment; set SGEMM_TUNE=1")
	}
}

type variant struct {
	name string
	f    func()
}

// interleave runs the variants round-robin, rounds times batch calls each,
// and returns each one's best time per call in ns.
func interleave(rounds, batch int, vs []variant) []float64 {
	times := make([][]float64, len(vs))
	for _, v := range vs {
		v.f()
	}
	for r := 0; r < rounds; r++ {
		for i, v := range vs {
			t0 := time.Now()
			for j := 0; j < batch; j++ {
				v.f()
			}
			times[i] = append(times[i], float64(time.Since(t0).Nanoseconds())/float64(batch))
		}
	}
	out := make([]float64, len(vs))
	for i := range times {
		sort.Float64s(times[i])
		out[i] = times[i][0]
	}
	return out
}

type shape struct {
	tA, tB  bool
	m, n, k int
}

func (s shape) String() string {
	t := ""
	if s.tA {
		t += "tA "
	}
	if s.tB {
		t += "tB "
	}
	return fmt.Sprintf("%s%dx%dx%d", t, s.m, s.n, s.k)
}

// operands returns zero-filled operands for s with tight leading dimensions.
func (s shape) operands() (a, b, c []float32, lda, ldb, ldc int) {
	lda, ldb = s.k, s.n
	if s.tA {
		lda = s.m
	}
	if s.tB {
		ldb = s.k
	}
	return make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n), lda, ldb, s.n
}

func (s shape) flop() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

func (s shape) batch() int { return max(1, int(4e7/s.flop())) }

var gptShapes = []shape{
	{m: 768, n: 128, k: 128}, {m: 768, n: 384, k: 128}, {m: 768, n: 512, k: 128}, {m: 768, n: 128, k: 512},
	{m: 768, n: 65, k: 128}, {tA: true, m: 128, n: 128, k: 768}, {tA: true, m: 128, n: 512, k: 768},
	{tA: true, m: 512, n: 128, k: 768}, {tB: true, m: 768, n: 128, k: 512}, {tB: true, m: 768, n: 128, k: 128},
	{m: 64, n: 64, k: 32}, {tB: true, m: 64, n: 64, k: 32}, {m: 64, n: 32, k: 64}, {tA: true, m: 64, n: 32, k: 64},
}

// compareKernels prints GemmSerial GFLOP/s per shape for each kernel.
func compareKernels(t *testing.T, shapes []shape, ks []*kernel) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-20s", "GFLOP/s (best of 25)")
	for _, kr := range ks {
		fmt.Fprintf(&sb, " %14s", kr.variant)
	}
	sb.WriteString("\n")
	for _, s := range shapes {
		a, b, c, lda, ldb, ldc := s.operands()
		var vs []variant
		for _, kr := range ks {
			ws := new(workspace)
			vs = append(vs, variant{kr.variant, func() {
				gemmBlocked(kr, ws, s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, ldc)
			}})
		}
		fmt.Fprintf(&sb, "%-20s", s)
		for _, ns := range interleave(25, s.batch(), vs) {
			fmt.Fprintf(&sb, " %14.1f", s.flop()/ns)
		}
		sb.WriteString("\n")
	}
	t.Log("\n" + sb.String())
}

// TestTuneBlocking compares the kernel in use with other KC/MC and without
// the edge kernels or with op(A) always packed.
func TestTuneBlocking(t *testing.T) {
	skipUnlessTuning(t)
	base := kernels[0]
	ks := []*kernel{base}
	for _, kc := range []int{128, 384} {
		v := *base
		v.kc, v.variant = kc, fmt.Sprintf("kc%d", kc)
		ks = append(ks, &v)
	}
	v := *base
	v.mc, v.variant = 4*v.mr, fmt.Sprintf("mc%d", 4*v.mr)
	ks = append(ks, &v)
	noEdge := *base
	noEdge.heights, noEdge.p, noEdge.variant = noEdge.heights[len(noEdge.heights)-1:], noEdge.p[len(noEdge.p)-1:], "noedges"
	noNarrow := *base
	noNarrow.widths, noNarrow.variant = noNarrow.widths[:1], "nonarrow"
	packA := *base
	packA.alwaysPackA, packA.variant = true, "packA"
	compareKernels(t, gptShapes, append(ks, &noEdge, &noNarrow, &packA))
}

// TestTuneKernels compares the kernels usable here.
func TestTuneKernels(t *testing.T) {
	skipUnlessTuning(t)
	compareKernels(t, gptShapes, kernels)
}

// TestTuneParallel compares Gemm with GemmSerial, helpers kept busy (calls
// back to back) and after 2 ms idle (helpers asleep), with parallelMinWork = 1.
func TestTuneParallel(t *testing.T) {
	skipUnlessTuning(t)
	old := parallelMinWork
	parallelMinWork = 1
	defer func() { parallelMinWork = old }()
	var sb strings.Builder
	shapes := append([]shape{{m: 64, n: 64, k: 64}, {m: 128, n: 128, k: 64}, {m: 128, n: 128, k: 128},
		{m: 256, n: 128, k: 128}, {m: 384, n: 128, k: 128}}, gptShapes[:10]...)
	for _, s := range shapes {
		a, b, c, lda, ldb, ldc := s.operands()
		vs := []variant{
			{"serial", func() { GemmSerial(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, ldc) }},
			{"parallel", func() { Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, ldc) }},
		}
		hot := interleave(25, s.batch(), vs)
		var times [2][]float64
		for r := 0; r < 25; r++ {
			for i, v := range vs {
				time.Sleep(2 * time.Millisecond)
				t0 := time.Now()
				v.f()
				times[i] = append(times[i], float64(time.Since(t0).Nanoseconds()))
			}
		}
		var cold [2]float64
		for i := range times {
			sort.Float64s(times[i])
			cold[i] = times[i][len(times[i])/2] // median: the best would hide late wake-ups
		}
		fmt.Fprintf(&sb, "%-20s mnk=%9d  back to back: serial %6.1f µs, parallel %6.1f µs (%.2fx)   after idle: %6.1f µs, %6.1f µs (%.2fx)\n",
			s, s.m*s.n*s.k, hot[0]/1e3, hot[1]/1e3, hot[0]/hot[1], cold[0]/1e3, cold[1]/1e3, cold[0]/cold[1])
	}
	t.Log("\n" + sb.String())
}

// BenchmarkKernelPeak times the full micro-kernels alone on L1-resident
// panels: the ceiling for GemmSerial.
func BenchmarkKernelPeak(b *testing.B) {
	for _, kr := range kernels {
		kc := 256
		pa := alignedFloats(kr.mr * kc)
		pb := alignedFloats(kr.nr * kc)
		c := alignedFloats(kr.mr * kr.nr)
		b.Run(kr.name+"-"+kr.variant, func(b *testing.B) {
			for b.Loop() {
				kr.p[len(kr.p)-1][0](kc, &pa[0], kr.mr, &pb[0], &c[0], kr.nr, 1, 1)
			}
			b.ReportMetric(2*float64(kr.mr*kr.nr*kc)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
		})
	}
}

// genericKernel4x4 is the portable kernel before the 2×4 one (4×4 tiles
// written as a "for p := 0; p < k; p++" loop over resliced panels), kept
// to measure the new one against: TestTuneGeneric.
var genericKernel4x4 = &kernel{
	name: "generic", variant: "4x4-old", mr: 4, nr: 4, widths: []int{4}, heights: []int{4},
	p: [][]microKernel{{kernGeneric4x4P}}, r: []microKernel{kernGeneric4x4R},
	kc: 256, mc: 128, nc: 1024,
}

// TestTuneGeneric compares, on the shapes of BenchmarkGemm, the 2×4
// portable kernel with the old 4×4 one and with gonum's Sgemm (pure Go with
// -tags noasm; SSE inner loops otherwise), all through their parallel entry
// points (GemmSerial for the per-head shapes), interleaved:
//
//	SGEMM_TUNE=1 go test -tags purego,noasm -run TuneGeneric -v ./internal/sgemm/
func TestTuneGeneric(t *testing.T) {
	skipUnlessTuning(t)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-26s %10s %10s %10s   GFLOP/s (best of 25), GOMAXPROCS=%d\n", "shape", "4x4-old", "2x4", "gonum", runtime.GOMAXPROCS(0))
	for _, s := range benchShapes {
		a, bb, c, lda, ldb, ldc := benchData(s)
		f := s.gemm()
		ta, tb := s.trans()
		var impl gonum.Implementation
		ours := func(kr *kernel) func() {
			return func() {
				defer useKernel(useKernel(kr))
				f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
			}
		}
		vs := []variant{
			{"4x4-old", ours(genericKernel4x4)},
			{"2x4", ours(genericKernel)},
			{"gonum", func() { impl.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc) }},
		}
		flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		fmt.Fprintf(&sb, "%-26s", s.name)
		for _, ns := range interleave(25, max(1, int(2e7/flop)), vs) {
			fmt.Fprintf(&sb, " %10.2f", flop/ns)
		}
		sb.WriteString("\n")
	}
	t.Log("\n" + sb.String())
}
func kernGeneric4x4P(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	as_ := unsafe.Slice(a, (k-1)*as+4)
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		ap := as_[p*as : p*as+4 : p*as+4]
		bp := bs[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0 := ap[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := ap[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := ap[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := ap[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	store4(cs[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	store4(cs[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	store4(cs[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

func kernGeneric4x4R(k int, a *float32, as int, b, c *float32, ldc int, alpha, beta float32) {
	as_ := unsafe.Slice(a, 3*as+k)
	a0s, a1s, a2s, a3s := as_[:k], as_[as:as+k], as_[2*as:2*as+k], as_[3*as:3*as+k]
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p, a0 := range a0s {
		bp := bs[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a1s[p]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a2s[p]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a3s[p]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	store4(cs[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(cs[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	store4(cs[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	store4(cs[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}
