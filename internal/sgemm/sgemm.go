// Package sgemm is a float32 matrix multiply (BLAS SGEMM for row-major
// matrices) in pure Go plus assembly micro-kernels: on amd64 AVX-512F
// (12×32 tiles) or AVX2+FMA (6×16), chosen at start-up with
// golang.org/x/sys/cpu; on arm64 NEON (8×12, every panel of op(A) packed);
// and a portable Go kernel (2×4) on older amd64 CPUs, other architectures
// or with the purego build tag. Kernel reports which one runs.
//
// The design is the Goto/BLIS one. op(B) is packed into kernel-wide panels
// (K blocks of 256 rows; the transpose is done while packing, the last panel
// is zero-padded and may be a narrower one). op(A) = A is read in place by
// kernels that take a row stride; op(A) = Aᵀ is copied into kernel-tall
// panels; a partial last panel of rows is packed for a kernel with fewer
// rows (AVX-512: 8 or 4). Partial tiles of C go through a small buffer with
// the same arithmetic as full ones. Packing buffers come from sync.Pools, so
// steady-state calls do not allocate.
//
// Results are deterministic: each element of C is a fixed sequence of
// float32 FMAs over k (in K blocks), whatever the split across goroutines,
// so Gemm and GemmSerial agree bit for bit. They are not bit-identical
// across kernels (AVX-512, AVX2, NEON and generic differ in rounding).
//
// # Threads
//
// Gemm splits products with m·n·k ≥ ~5·10⁶ (below, waking a helper costs
// more than it saves here) into chunks of rows or columns of C that the
// caller and up to par.Threads()-1 helpers take in turn. The helpers are
// internal/par's pool, the same goroutines that run the graph kernels'
// parallel loops (see that package for how they spin briefly, then park);
// the caller never waits for a chunk nobody has started, so a busy or late
// helper only costs speed. Callers that parallelise themselves (e.g. one
// goroutine per attention head) should call GemmSerial, or Gemm on products
// below the threshold, which run on the calling goroutine only; calling Gemm
// from many goroutines is safe and cannot deadlock, just oversubscribed.
//
// # Errors
//
// Invalid arguments (negative sizes, leading dimensions smaller than the
// row length, slices shorter than the BLAS length ld*(rows-1)+cols) panic
// with a message starting "sgemm: ". This is an internal package whose
// callers validate their shapes, so such a panic is a programming error.
package sgemm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices: op(A) is m×k
// (A is m×k with leading dimension lda, or k×m when tA), op(B) is k×n (B is k×n with
// ldb, or n×k when tB), C is m×n with ldc. beta == 0 means C is overwritten (NaNs in C
// do not propagate). It splits large products across the available cores
// (par.Threads(): runtime.GOMAXPROCS, or less after par.SetThreads).
//
// Slices may start anywhere (sub-slices for strided views); each must hold at
// least the BLAS length ld*(rows-1)+cols of the matrix as stored. m == 0 or
// n == 0 does nothing; k == 0 or alpha == 0 gives C = beta·C (A and B are not
// read). C must not overlap A or B. Gemm may be called concurrently from
// many goroutines; when its helper goroutines are busy the calling goroutine
// does the work itself.
func Gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmDone(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	kr := activeKernel.Load()
	if t := parallelThreads(m, n, k); t > 1 {
		gemmParallel(kr, t, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ws := getWorkspace()
	gemmBlocked(kr, ws, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	workspacePool.Put(ws)
}

// GemmSerial is Gemm on the calling goroutine only, for callers that parallelise
// themselves (e.g. over attention heads).
func GemmSerial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	GemmSerialTri(Tri{}, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmDone checks Gemm's arguments (panicking as Gemm documents) and does the calls
// with nothing to multiply: none for m or n zero, C = beta·C for k or alpha zero. It
// reports whether the call is done.
func gemmDone(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	checkArgs(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	return false
}

// Kernel names the micro-kernel in use: "avx512", "avx2", "neon" or "generic".
func Kernel() string { return activeKernel.Load().name }

var activeKernel atomic.Pointer[kernel]

func init() { activeKernel.Store(kernels[0]) }

// useKernel makes kr the kernel for later calls and returns the previous one
// (tests and benchmarks).
func useKernel(kr *kernel) *kernel { return activeKernel.Swap(kr) }

func checkArgs(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		badArgs("negative dimension", m, n, k, 0, 0)
	}
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB {
		rb, cb = n, k
	}
	if lda < max(1, ca) {
		badArgs("lda too small", m, n, k, lda, ca)
	}
	if ldb < max(1, cb) {
		badArgs("ldb too small", m, n, k, ldb, cb)
	}
	if ldc < max(1, n) {
		badArgs("ldc too small", m, n, k, ldc, n)
	}
	if m == 0 || n == 0 {
		return
	}
	if need := (m-1)*ldc + n; len(c) < need {
		badArgs("len(c) too small", m, n, k, len(c), need)
	}
	if k == 0 {
		return
	}
	if need := (ra-1)*lda + ca; len(a) < need {
		badArgs("len(a) too small", m, n, k, len(a), need)
	}
	if need := (rb-1)*ldb + cb; len(b) < need {
		badArgs("len(b) too small", m, n, k, len(b), need)
	}
}

//go:noinline
func badArgs(what string, m, n, k, got, want int) {
	panic(fmt.Sprintf("sgemm: %s (m=%d n=%d k=%d): got %d, want at least %d", what, m, n, k, got, want))
}

// scaleC sets C = beta·C (beta == 0: C = 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// workspace holds one goroutine's packing buffers.
type workspace struct {
	a, b []float32
	tmp  []float32 // one mr×nr tile, for edge tiles
}

var workspacePool = sync.Pool{New: func() any { return new(workspace) }}

func getWorkspace() *workspace { return workspacePool.Get().(*workspace) }

// alignedFloats returns a zeroed slice of n float32s starting on a 64-byte
// boundary (a cache line; full ZMM loads of packed panels never split one).
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int((64-uintptr(unsafe.Pointer(&s[0]))&63)&63) / 4
	return s[off : off+n : off+n]
}

// blocking returns the step for splitting total into blocks of at most max,
// balanced so that the last block is not tiny, rounded up to a multiple of unit.
func blocking(total, max, unit int) int {
	nb := (total + max - 1) / max
	step := (total + nb - 1) / nb
	return (step + unit - 1) / unit * unit
}

// gemmBlocked is the serial Goto/BLIS loop nest. m, n, k ≥ 1.
func gemmBlocked(kr *kernel, ws *workspace, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmBlockedPre(kr, ws, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil, Tri{})
}

// packedBLen is the length of the buffer packWholeB needs for a k×n op(B),
// or 0 if op(B) is too wide (n > kr.nc) or too big (16 MiB) to be packed in
// one piece.
func packedBLen(kr *kernel, n, k int) int {
	if n > kr.nc || k*n > 1<<22 {
		return 0
	}
	return k * kr.paddedWidth(n)
}

// packWholeB packs all of op(B) (n ≤ kr.nc) the way gemmBlockedPre reads
// it: K blocks one after the other, the block of rows pc..pc+kc at
// pre[pc·paddedWidth(n):].
func packWholeB(kr *kernel, pre []float32, tB bool, n, k int, b []float32, ldb int) {
	w := wholeB{kr: kr, pre: pre, b: b, tB: tB, n: n, k: k, ldb: ldb, kcStep: blocking(k, kr.kc, 1)}
	for i := range w.blocks() {
		w.Do(i)
	}
}

// wholeB is op(B) being packed whole by K blocks (packWholeB; packWholeBParallel
// packs the blocks on several goroutines, as a par.Body).
type wholeB struct {
	kr        *kernel
	pre, b    []float32
	tB        bool
	n, k, ldb int
	kcStep    int
}

func (w *wholeB) blocks() int { return (w.k + w.kcStep - 1) / w.kcStep }

// Do packs K block i.
func (w *wholeB) Do(i int) {
	pc := i * w.kcStep
	bo := pc * w.ldb
	if w.tB {
		bo = pc
	}
	packB(w.kr, w.pre[pc*w.kr.paddedWidth(w.n):], w.b[bo:], w.ldb, w.tB, min(w.kcStep, w.k-pc), w.n)
}

// packedRows is how many rows packWholeA stores per k-step for an m-row
// op(A): m rounded up to whole kr.mr-tall panels.
func packedRows(kr *kernel, m int) int { return (m + kr.mr - 1) / kr.mr * kr.mr }

// packedALen is the length of the buffer packWholeA needs for an m×k op(A),
// or 0 if it is too big (16 MiB) to be packed in one piece.
func packedALen(kr *kernel, m, k int) int {
	if packedRows(kr, m)*k > 1<<22 {
		return 0
	}
	return packedRows(kr, m) * k
}

// packWholeA packs all of op(A) the way gemmBlockedPre reads it with preA:
// K blocks one after the other, the block of columns pc..pc+kc (all m rows,
// in kr.mr-tall panels as packA lays them out) at pre[pc·packedRows(m):].
func packWholeA(kr *kernel, pre []float32, tA bool, m, k int, a []float32, lda int) {
	kcStep := blocking(k, kr.kc, 1)
	mp := packedRows(kr, m)
	for pc := 0; pc < k; pc += kcStep {
		kc := min(kcStep, k-pc)
		ao := pc
		if tA {
			ao = pc * lda
		}
		packA(kr, pre[pc*mp:], a[ao:], lda, tA, m, kc)
	}
}

// gemmBlockedPre is gemmBlocked, with op(B) already packed by packWholeB
// into pre if pre is not nil, and op(A) by packWholeA into preA if preA is
// not nil (only when macroKernel would pack all of it: tA or alwaysPackA),
// skipping the work tri allows (see Tri; Tri{} for none).
func gemmBlockedPre(kr *kernel, ws *workspace, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pre, preA []float32, tri Tri) {
	mr, nr := kr.mr, kr.nr
	kcStep := blocking(k, kr.kc, 1)
	mcStep := blocking(m, kr.mc, mr)
	ncStep := blocking(n, kr.nc, nr)
	mcMax := min(mcStep, (m+mr-1)/mr*mr)
	ncMax := min(ncStep, (n+nr-1)/nr*nr)
	kcMax := min(kcStep, k)
	switch {
	case preA != nil: // op(A) is packed already
	case tA || kr.alwaysPackA:
		if len(ws.a) < mcMax*kcMax {
			ws.a = alignedFloats(mcMax * kcMax)
		}
	case len(ws.a) < mr*kcMax:
		ws.a = alignedFloats(mr * kcMax)
	}
	if pre == nil && len(ws.b) < ncMax*kcMax {
		ws.b = alignedFloats(ncMax * kcMax)
	}
	if len(ws.tmp) < mr*nr {
		ws.tmp = alignedFloats(mr * nr)
	}
	for jc := 0; jc < n; jc += ncStep {
		nc := min(ncStep, n-jc)
		for pc := 0; pc < k; pc += kcStep {
			kc := min(kcStep, k-pc)
			pb := ws.b
			switch {
			case pre != nil:
				pb = pre[pc*kr.paddedWidth(n):]
			case tB:
				packB(kr, pb, b[jc*ldb+pc:], ldb, true, kc, nc)
			default:
				packB(kr, pb, b[pc*ldb+jc:], ldb, false, kc, nc)
			}
			be := beta
			if pc > 0 {
				be = 1
			}
			for ic := 0; ic < m; ic += mcStep {
				mc := min(mcStep, m-ic)
				ao := ic*lda + pc
				if tA {
					ao = pc*lda + ic
				}
				var pa []float32
				if preA != nil {
					pa = preA[pc*packedRows(kr, m)+ic*kc:]
				}
				t := triAt{Tri: tri, i0: ic, j0: jc, p0: pc}
				macroKernel(kr, ws, pb, pa, tA, a[ao:], lda, mc, nc, kc, alpha, be, c[ic*ldc+jc:], ldc, &t)
			}
		}
	}
}

// macroKernel multiplies the mc×kc block of op(A) whose top-left element is
// a[0] by the packed kc×nc block of op(B) in pb into C (c[0] is the
// block's top-left element). If pa is not nil it holds the block of op(A)
// packed already (as packA would), and a is not read. With tA (or kr.alwaysPackA) the block of op(A)
// is packed first (for Aᵀ a cheap copy; reading Aᵀ in place was up to 30%
// slower, its k-steps lda apart collide in the caches when lda is a power
// of two); otherwise whole mr-row panels of A are read in place (faster
// than packing them here) and only a partial last panel is packed. t is
// the triangular structure and where the block lies in the whole product.
func macroKernel(kr *kernel, ws *workspace, pb, pa []float32, tA bool, a []float32, lda, mc, nc, kc int, alpha, beta float32, c []float32, ldc int, t *triAt) {
	mr := kr.mr
	inPlace := mc / mr * mr // rows read in place
	if tA || kr.alwaysPackA {
		inPlace = 0
	}
	if pa == nil {
		pa = ws.a
		if inPlace < mc {
			ao := inPlace * lda
			if tA {
				ao = inPlace
			}
			packA(kr, ws.a, a[ao:], lda, tA, mc-inPlace, kc)
		}
	}
	for jr := 0; jr < nc; {
		w := 0
		for ir := 0; ir < mc; ir += mr {
			w = microTile(kr, ws, pb, pa, a, lda, inPlace, ir, jr, mc, nc, kc, alpha, beta, c, ldc, t)
		}
		jr += w
	}
}

// microTile computes the tile of C at rows ir, columns jr of the block and
// returns the width of the op(B) panel used. Under t it skips the tile, or
// runs the kernel over the steps ks … ke−1 of the block only (at least one).
func microTile(kr *kernel, ws *workspace, pb, pa []float32, a []float32, lda, inPlace, ir, jr, mc, nc, kc int, alpha, beta float32, c []float32, ldc int, t *triAt) int {
	mr := kr.mr
	w, wi := kr.panelWidth(nc - jr)
	cols := min(w, nc-jr)
	rows := min(mr, mc-ir)
	ks, ke := 0, kc
	switch t.Kind {
	case TriLowerC: // skip the tile if even its last row wants none of its columns
		if t.j0+jr > t.i0+ir+rows-1+t.Off {
			return w
		}
	case TriLowerA: // stop after the last step its last row needs
		ke = min(max(t.i0+ir+rows+t.Off-t.p0, 1), kc)
	case TriUpperA: // start at the first step its first row needs
		ks = min(max(t.i0+ir+t.Off-t.p0, 0), kc-1)
	}
	bp := &pb[jr*kc+ks*w]
	var f microKernel
	var ap *float32
	var as int
	if ir >= inPlace {
		h, hi := kr.panelHeight(rows)
		ap, as, f = &pa[(ir-inPlace)*kc+ks*h], h, kr.p[hi][wi]
		mr = h
	} else {
		ap, as, f = &a[ir*lda+ks], lda, kr.r[wi]
	}
	if rows == mr && cols == w {
		f(ke-ks, ap, as, bp, &c[ir*ldc+jr], ldc, alpha, beta)
		return w
	}
	// Partial tile: run the kernel on a copy in ws.tmp (row stride w), so
	// that every element of C gets exactly the arithmetic of a full tile.
	tmp := ws.tmp
	if beta != 0 {
		for i := 0; i < rows; i++ {
			copy(tmp[i*w:i*w+cols], c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+cols])
		}
	}
	f(ke-ks, ap, as, bp, &tmp[0], w, alpha, beta)
	for i := 0; i < rows; i++ {
		copy(c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+cols], tmp[i*w:i*w+cols])
	}
	return w
}
