package sgemm

// Tri is a triangular structure of a product that GemmSerialTri uses to skip
// work, given relative to the line p = i + Off (or j = i + Off) through row i
// of C. The work is skipped a kernel tile (kr.mr rows of C, one panel of
// op(B)) at a time, so the tiles that straddle the line are computed in full.
type Tri struct {
	Kind TriKind
	Off  int
}

// TriKind is the kind of a Tri.
type TriKind uint8

const (
	// TriNone is a full product: GemmSerial.
	TriNone TriKind = iota
	// TriLowerC: only the elements C(i, j) with j ≤ i+Off are wanted. A tile
	// of C without any is not computed: it keeps what it held, not scaled by
	// beta (if k or alpha is 0, C = beta·C everywhere, as GemmSerial does).
	// Every other tile gets GemmSerial's result bit for bit.
	TriLowerC
	// TriLowerA: op(A)(i, p) is 0 for p > i+Off. A tile's sum over p stops
	// after the last p its last row needs (each K block of kr.kc steps still
	// runs one step at the least): it
	// leaves out trailing terms 0·op(B)(p, j), which for finite op(B) changes
	// at most the sign of a zero element of C.
	TriLowerA
	// TriUpperA: op(A)(i, p) is 0 for p < i+Off. A tile's sum over p starts
	// at the first p its first row needs (each K block still runs its last
	// step at the least): the
	// skipped leading terms 0·op(B)(p, j) would leave the sum at +0, so for
	// finite op(B) the result is GemmSerial's bit for bit.
	TriUpperA
)

// triAt is a Tri with the position of a block of the product: its first row
// i0 and column j0 of C and its first step p0 of the sum.
type triAt struct {
	Tri
	i0, j0, p0 int
}

// GemmSerialTri is GemmSerial for a product with the triangular structure
// tri, on the calling goroutine. For the products of a causal attention tile
// (scores Q·Kᵀ wanted below the diagonal, probabilities P zero above it) it
// does about half the work. It panics on invalid arguments as Gemm does.
func GemmSerialTri(tri Tri, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmDone(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	ws := getWorkspace()
	gemmBlockedPre(activeKernel.Load(), ws, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil, tri)
	workspacePool.Put(ws)
}
