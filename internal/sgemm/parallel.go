package sgemm

import (
	"sync"

	"github.com/attend-go/attend/internal/par"
)

// parallelMinWork is the smallest m·n·k that Gemm splits across goroutines.
var parallelMinWork = 5 << 20

// chunkMinWork is the least m·n·k of one chunk of a split product.
var chunkMinWork = 1 << 18

// job is a Gemm split into chunks (row ranges of C, or column ranges) that
// the caller and the helpers of internal/par take in turn (par.Run): the
// caller from the front, helpers from the back, so in a loop of similar calls
// each goroutine tends to get the same rows of A and C as last time. A
// helper that wakes late finds no chunk left, so a split call is never much
// slower than a serial one.
type job struct {
	kr            *kernel
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
	splitM        bool
	chunk         int       // rows (splitM) or columns per chunk
	pre           []float32 // all of op(B), packed once (splitM), or nil
	preBuf        []float32 // pre's storage, kept with the pooled job
	preA          []float32 // all of op(A), packed once (!splitM, tA or alwaysPackA), or nil
	preABuf       []float32 // preA's storage
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

// Do computes chunk i (par.Body).
func (j *job) Do(i int) {
	ws := getWorkspace()
	lo := i * j.chunk
	if j.splitM {
		hi := min(j.m, lo+j.chunk)
		ao := lo * j.lda
		if j.tA {
			ao = lo
		}
		gemmBlockedPre(j.kr, ws, j.tA, j.tB, hi-lo, j.n, j.k, j.alpha, j.a[ao:], j.lda, j.b, j.ldb, j.beta, j.c[lo*j.ldc:], j.ldc, j.pre, nil, Tri{})
	} else {
		hi := min(j.n, lo+j.chunk)
		bo := lo
		if j.tB {
			bo = lo * j.ldb
		}
		gemmBlockedPre(j.kr, ws, j.tA, j.tB, j.m, hi-lo, j.k, j.alpha, j.a, j.lda, j.b[bo:], j.ldb, j.beta, j.c[lo:], j.ldc, nil, j.preA, Tri{})
	}
	workspacePool.Put(ws)
}

// Least rows (columns) of a chunk when splitting the rows (columns): every
// row chunk reads all of the packed op(B) once, every column chunk reads
// all of op(A) (packed once for all chunks when op(A) = Aᵀ).
var (
	chunkMinRows    = 48
	chunkMinCols    = 64
	chunkMinColsTA  = 128
	chunksPerThread = 8
)

// splitPlan chooses how to split an m×n×k product: along the rows of C
// (splitM) or its columns, in nchunks chunks of chunk rows or columns
// (whole kernel panels; the last chunk may be smaller). nchunks < 2 means
// do not split.
func splitPlan(kr *kernel, threads int, tA bool, m, n, k int) (splitM bool, chunk, nchunks int) {
	plan := func(size, unit, minSize int) (chunk, nchunks int) {
		units := (size + unit - 1) / unit
		minUnits := max(1, (minSize+unit/2)/unit)
		nc := min(units/minUnits, chunksPerThread*threads, m*n*k/chunkMinWork)
		if nc < 2 {
			return size, 1
		}
		chunk = (units + nc - 1) / nc * unit
		return chunk, (size + chunk - 1) / chunk
	}
	mChunk, mN := plan(m, kr.mr, chunkMinRows)
	minCols := chunkMinCols
	if tA {
		minCols = chunkMinColsTA
	}
	nChunk, nN := plan(n, kr.nr, minCols)
	// Prefer the split with more chunks (better balance; fewer than
	// threads leaves cores idle); rows on a tie (op(B) packed only once).
	if mN >= nN || mN >= 2*threads {
		return true, mChunk, mN
	}
	return false, nChunk, nN
}

// parallelThreads is how many goroutines Gemm uses for an m×n×k product.
func parallelThreads(m, n, k int) int {
	if m*n*k < parallelMinWork {
		return 1
	}
	return par.Threads()
}

func gemmParallel(kr *kernel, threads int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	splitM, chunk, nchunks := splitPlan(kr, threads, tA, m, n, k)
	if nchunks < 2 {
		ws := getWorkspace()
		gemmBlocked(kr, ws, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		workspacePool.Put(ws)
		return
	}
	j := jobPool.Get().(*job)
	j.kr, j.tA, j.tB, j.m, j.n, j.k, j.alpha, j.beta = kr, tA, tB, m, n, k, alpha, beta
	j.a, j.b, j.c, j.lda, j.ldb, j.ldc = a, b, c, lda, ldb, ldc
	j.splitM, j.chunk, j.pre, j.preA = splitM, chunk, nil, nil
	if !splitM && (tA || kr.alwaysPackA) {
		// Every column chunk needs all of op(A), packed: pack it once for all.
		if need := packedALen(kr, m, k); need > 0 {
			if len(j.preABuf) < need {
				j.preABuf = alignedFloats(need)
			}
			j.preA = j.preABuf[:need]
			packWholeA(kr, j.preA, tA, m, k, a, lda)
		}
	}
	if splitM {
		// Every chunk needs all of op(B): pack it once for all.
		if need := packedBLen(kr, n, k); need > 0 {
			if len(j.preBuf) < need {
				j.preBuf = alignedFloats(need)
			}
			j.pre = j.preBuf[:need]
			packWholeBParallel(kr, threads, j.pre, tB, n, k, b, ldb)
		}
	}
	par.Run(nchunks, threads, j)
	j.a, j.b, j.c, j.kr, j.pre, j.preA = nil, nil, nil, nil, nil, nil
	jobPool.Put(j)
}

var wholeBPool = sync.Pool{New: func() any { return new(wholeB) }}

// packWholeBParallel is packWholeB with its K blocks packed on up to threads
// goroutines, when there are several (the same layout: each block is packed by one
// packB call, as packWholeB does). With one K block the caller packs it alone: measured
// on the step's shapes, splitting one block's panels costs more than it saves, while
// the weight-gradient products (K = the batch's 768 tokens, three blocks) gain.
func packWholeBParallel(kr *kernel, threads int, pre []float32, tB bool, n, k int, b []float32, ldb int) {
	w := wholeBPool.Get().(*wholeB)
	*w = wholeB{kr: kr, pre: pre, b: b, tB: tB, n: n, k: k, ldb: ldb, kcStep: blocking(k, kr.kc, 1)}
	if nb := w.blocks(); threads < 2 || nb < 2 {
		for i := range nb {
			w.Do(i)
		}
	} else {
		par.Run(nb, threads, w)
	}
	*w = wholeB{}
	wholeBPool.Put(w)
}
