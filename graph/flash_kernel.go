package graph

import (
	"math"
	"runtime"

	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/sgemm"
	"github.com/attend-go/attend/internal/vec"
	"gorgonia.org/tensor"
)

// flashScratch is one goroutine's tiles: scores or probabilities s and their gradient
// ds (BlockQ × BlockK), the output accumulator acc (BlockQ × d_v) and per-row values.
type flashScratch[T num.Float] struct {
	s, ds, acc []T
	m          []T
	l, dd      []float64
	lo, hi     []int // per row, the keys of the tile whose exponentials add to l
}

// flashPool hands out scratch tiles: one per goroutine working on an op at a time,
// allocated on first use and kept for later runs (a channel, not a sync.Pool, so that
// a tile given back by a helper is found by the next caller).
type flashPool[T num.Float] struct {
	spec *flashSpec
	free chan *flashScratch[T]
}

func newFlashPool[T num.Float](s *flashSpec) *flashPool[T] {
	return &flashPool[T]{spec: s, free: make(chan *flashScratch[T], 2*runtime.GOMAXPROCS(0)+2)}
}

func (p *flashPool[T]) get() *flashScratch[T] {
	select {
	case sc := <-p.free:
		return sc
	default:
	}
	s := p.spec
	return &flashScratch[T]{
		s: make([]T, s.bq*s.bk), ds: make([]T, s.bq*s.bk), acc: make([]T, s.bq*max(s.Dv, 1)),
		m: make([]T, s.bq), l: make([]float64, s.bq), dd: make([]float64, s.bq),
		lo: make([]int, s.bq), hi: make([]int, s.bq),
	}
}

func (p *flashPool[T]) put(sc *flashScratch[T]) {
	select {
	case p.free <- sc:
	default:
	}
}

// flashArgs are the data of one run of a flash attention op.
type flashArgs[T num.Float] struct {
	s                  *flashSpec
	pool               *flashPool[T]
	q, k, v, out, dout []T
	bias, mask, pad    []T
	lse                []float64
	dq, dk, dv, dbias  []T
	taskB, taskG       int // backward tasks: batch rows × kv heads, fewer when a bias is shared
	nk, off            int // keys this run (T_k, or the cached and the new ones), p_q(i) − i
	nqb                int // query blocks per head
	negInf             T
}

// flashArgsOf reads the inputs q, k, v (nil for the weights op) and the extras (bias,
// mask, key padding, those the spec has, in that order).
func flashArgsOf[T num.Float](s *flashSpec, vals []*tensor.Dense, pool *flashPool[T]) *flashArgs[T] {
	f := &flashArgs[T]{s: s, pool: pool, negInf: T(math.Inf(-1))}
	f.q, f.k = data[T](vals[0]), data[T](vals[1])
	if vals[2] != nil {
		f.v = data[T](vals[2])
	}
	rest := vals[3:]
	if s.bias {
		f.bias, rest = data[T](rest[0]), rest[1:]
	}
	if s.mask {
		f.mask, rest = data[T](rest[0]), rest[1:]
	}
	if s.pad {
		f.pad = data[T](rest[0])
	}
	f.nqb = (s.Tq + s.bq - 1) / max(s.bq, 1)
	f.nk, f.off = s.Tk, s.Tk-s.Tq
	return f
}

// rowRange is the range [lo, hi) of keys that the causal pattern and the window leave
// to query row i (lo ≥ hi: none).
func (f *flashArgs[T]) rowRange(i int) (lo, hi int) {
	s := f.s
	p := i + f.off
	lo, hi = 0, f.nk
	if s.causal {
		hi = min(hi, p+1)
	}
	if s.win {
		lo = max(lo, p-s.left)
		hi = min(hi, p+s.right+1)
	}
	return lo, hi
}

// blockCols is the range [lo, hi) of the nb keys j0 … j0+nb−1 that query i may attend
// to under the causal and window rules (0 ≤ lo, hi ≤ nb; empty if lo ≥ hi). blockScores
// sets every score outside it to −Inf, so its exponential is 0 there.
func (f *flashArgs[T]) blockCols(i, j0, nb int) (lo, hi int) {
	lo, hi = f.rowRange(i)
	return min(max(lo-j0, 0), nb), min(max(hi-j0, 0), nb)
}

// flashTri turns tileTri on (tests compare with it off).
var flashTri = true

// tileTri is the triangular structure of the products of the tile of queries i0 … and
// keys j0 … (see sgemm.Tri): the causal rule and a window's right edge let the tile's
// row r see its column c only if c ≤ r + d. kind says which of the products it is for:
// sgemm.TriLowerC for the scores (only those are wanted), sgemm.TriLowerA for the
// products by the probabilities P or their gradient dS (rows of queries, zero right of
// the line), sgemm.TriUpperA for those by Pᵀ or dSᵀ (rows of keys, zero left of it).
// Without a causal rule or window it is sgemm.Tri{}.
func (f *flashArgs[T]) tileTri(kind sgemm.TriKind, i0, j0 int) sgemm.Tri {
	s := f.s
	if !flashTri || !s.causal && !s.win {
		return sgemm.Tri{}
	}
	d := i0 + f.off - j0 // row r is query p = i0+r+off, column c key j0+c
	if s.win {
		d += s.right
	}
	if s.causal {
		d = min(d, i0+f.off-j0)
	}
	if kind == sgemm.TriUpperA {
		d = -d
	}
	return sgemm.Tri{Kind: kind, Off: d}
}

// blockScores fills the n × nb tile st (row stride ld) with the scores of queries
// i0 … i0+n−1 of batch row b and head h against keys j0 … j0+nb−1. With fill the
// blocked keys get −Inf; without, only the keys blockCols gives are written (the
// others hold anything and must not be read).
func (f *flashArgs[T]) blockScores(st []T, ld, b, h, i0, n, j0, nb int, fill bool) {
	s := f.s
	g := h / (s.H / s.KH)
	gemmSerialTri(f.tileTri(sgemm.TriLowerC, i0, j0), false, true, n, nb, s.D, T(s.scale),
		f.q[(b*s.Tq+i0)*s.Cq+h*s.D:], s.Cq, f.k[(b*s.rows+j0)*s.Ck+g*s.D:], s.Ck, 0, st, ld)
	var slope float64
	if s.slopes != nil {
		slope = s.slopes[h]
	}
	var padRow []T
	if f.pad != nil {
		padRow = f.pad[b*s.Tk+j0 : b*s.Tk+j0+nb]
	}
	for r := 0; r < n; r++ {
		i := i0 + r
		row := st[r*ld : r*ld+nb]
		lo, hi := f.blockCols(i, j0, nb)
		if lo >= hi {
			if fill {
				for c := range row {
					row[c] = f.negInf
				}
			}
			continue
		}
		if fill {
			for c := 0; c < lo; c++ {
				row[c] = f.negInf
			}
			for c := hi; c < nb; c++ {
				row[c] = f.negInf
			}
		}
		if f.bias != nil {
			br := f.bias[s.biasRow(b, h, i)+j0:]
			for c := lo; c < hi; c++ {
				row[c] += br[c]
			}
		}
		if slope != 0 {
			p := i + f.off
			for c := lo; c < hi; c++ {
				d := p - (j0 + c)
				if d < 0 {
					d = -d
				}
				row[c] -= T(slope * float64(d))
			}
		}
		if f.mask != nil {
			m := i
			if s.maskPerBatch {
				m += b * s.Tq
			}
			mr := f.mask[m*s.Tk+j0:]
			for c := lo; c < hi; c++ {
				if mr[c] != 0 {
					row[c] = f.negInf
				}
			}
		}
		if padRow != nil {
			for c := lo; c < hi; c++ {
				if padRow[c] != 0 {
					row[c] = f.negInf
				}
			}
		}
	}
}

// biasRow is the offset of the bias row of batch row b, head h and query i.
func (s *flashSpec) biasRow(b, h, i int) int {
	bb, bh, nh := 0, 0, 1
	if s.biasB {
		bb = b
	}
	if s.biasH {
		bh, nh = h, s.H
	}
	return ((bb*nh+bh)*s.Tq + i) * s.Tk
}

// keyBlocks is the range [lo, hi) of keys that some query of rows i0 … i0+n−1 may see.
func (f *flashArgs[T]) keyBlocks(i0, n int) (lo, hi int) {
	lo, _ = f.rowRange(i0)
	_, hi = f.rowRange(i0 + n - 1)
	return max(lo, 0), min(hi, f.nk)
}

// forward fills out and lse, split over batch rows × heads × query blocks.
func (f *flashArgs[T]) forward() {
	s := f.s
	parallelDo(s.B*s.H*f.nqb, 4*s.B*s.H*s.Tq*f.nk*(s.D+s.Dv), flashForward[T]{f})
}

type flashForward[T num.Float] struct{ f *flashArgs[T] }

func (w flashForward[T]) Do(task int) {
	f := w.f
	s := f.s
	qb := task % f.nqb
	h := (task / f.nqb) % s.H
	b := task / (f.nqb * s.H)
	g := h / (s.H / s.KH)
	i0 := qb * s.bq
	n := min(s.bq, s.Tq-i0)
	sc := f.pool.get()
	defer f.pool.put(sc)
	m, l, acc := sc.m[:n], sc.l[:n], sc.acc[:n*s.Dv]
	for r := range m {
		m[r], l[r] = f.negInf, 0
	}
	clear(acc)
	lo, hi := f.keyBlocks(i0, n)
	for j0 := lo; j0 < hi; j0 += s.bk {
		nb := min(s.bk, hi-j0)
		st := sc.s
		f.blockScores(st, s.bk, b, h, i0, n, j0, nb, false)
		sumLo, sumHi := sc.lo[:n], sc.hi[:n]
		for r := 0; r < n; r++ {
			// Only keys cl … ch−1 hold scores; the exponentials of the others are 0.
			cl, ch := f.blockCols(i0+r, j0, nb)
			row := st[r*s.bk : r*s.bk+nb]
			sumLo[r], sumHi[r] = 0, 0
			if cl >= ch {
				clear(row)
				continue
			}
			mnew := max(m[r], rowMax(row[cl:ch]))
			if math.IsInf(float64(mnew), -1) { // nothing seen yet
				clear(row)
				continue
			}
			clear(row[:cl])
			clear(row[ch:])
			expRow(row[cl:ch], mnew)
			sumLo[r], sumHi[r] = r*s.bk+cl, r*s.bk+ch
			if mnew != m[r] {
				alpha := expOf(m[r] - mnew)
				l[r] *= float64(alpha)
				ar := acc[r*s.Dv : (r+1)*s.Dv]
				for d := range ar {
					ar[d] *= alpha
				}
				m[r] = mnew
			}
		}
		addRowSums(l, st, sumLo, sumHi)
		gemmSerialTri(f.tileTri(sgemm.TriLowerA, i0, j0), false, false, n, s.Dv, nb, 1, st, s.bk, f.v[(b*s.rows+j0)*s.Cv+g*s.Dv:], s.Cv, 1, acc, s.Dv)
	}
	for r := 0; r < n; r++ {
		i := i0 + r
		or := f.out[(b*s.Tq+i)*s.Co+h*s.Dv : (b*s.Tq+i)*s.Co+(h+1)*s.Dv]
		li := &f.lse[(b*s.H+h)*s.Tq+i]
		if l[r] == 0 {
			clear(or)
			*li = math.Inf(1)
			continue
		}
		inv := 1 / l[r]
		ar := acc[r*s.Dv : (r+1)*s.Dv]
		for d := range or {
			or[d] = T(float64(ar[d]) * inv)
		}
		*li = float64(m[r]) + math.Log(l[r])
	}
}

// backward fills dq, dk, dv and dbias (dbias cleared by the caller; each task clears
// its parts of the others). Each task owns one batch row and one kv head: the dk and dv
// rows of that head and the dq rows of its query heads. With a bias shared by the batch rows (or the heads), a task takes them all, so
// that no two tasks add into one bias gradient.
func (f *flashArgs[T]) backward() {
	s := f.s
	f.taskB, f.taskG = s.B, s.KH
	if s.bias && !s.biasB {
		f.taskB = 1
	}
	if s.bias && !s.biasH {
		f.taskG = 1
	}
	parallelDo(f.taskB*f.taskG, 8*s.B*s.H*s.Tq*s.Tk*(s.D+s.Dv), flashBackward[T]{f})
}

type flashBackward[T num.Float] struct{ f *flashArgs[T] }

func (w flashBackward[T]) Do(task int) {
	f := w.f
	s := f.s
	sc := f.pool.get()
	defer f.pool.put(sc)
	tb, tg := task/f.taskG, task%f.taskG
	nb := s.B / f.taskB
	ng := s.KH / f.taskG
	for b := tb * nb; b < (tb+1)*nb; b++ {
		for g := tg * ng; g < (tg+1)*ng; g++ {
			grp := s.H / s.KH
			f.clearGrads(b, g)
			for h := g * grp; h < (g+1)*grp; h++ {
				for qb := 0; qb < f.nqb; qb++ {
					f.backwardBlock(sc, b, h, g, qb)
				}
			}
		}
	}
}

// clearGrads clears the dk and dv rows of batch row b and kv head g and the dq rows of
// its query heads, just before the task that owns them adds into them.
func (f *flashArgs[T]) clearGrads(b, g int) {
	s := f.s
	for j := 0; j < s.Tk; j++ {
		clear(f.dk[(b*s.Tk+j)*s.Ck+g*s.D : (b*s.Tk+j)*s.Ck+(g+1)*s.D])
		clear(f.dv[(b*s.Tk+j)*s.Cv+g*s.Dv : (b*s.Tk+j)*s.Cv+(g+1)*s.Dv])
	}
	grp := s.H / s.KH
	for i := 0; i < s.Tq; i++ {
		clear(f.dq[(b*s.Tq+i)*s.Cq+g*grp*s.D : (b*s.Tq+i)*s.Cq+(g+1)*grp*s.D])
	}
}

func (f *flashArgs[T]) backwardBlock(sc *flashScratch[T], b, h, g, qb int) {
	s := f.s
	i0 := qb * s.bq
	n := min(s.bq, s.Tq-i0)
	lo, hi := f.keyBlocks(i0, n)
	if lo >= hi {
		return
	}
	dd := sc.dd[:n]
	lse := f.lse[(b*s.H+h)*s.Tq+i0:]
	qOff := (b*s.Tq+i0)*s.Cq + h*s.D
	oOff := (b*s.Tq+i0)*s.Co + h*s.Dv
	rowDots(dd, f.dout[oOff:], f.out[oOff:], s.Co, s.Dv)
	for j0 := lo; j0 < hi; j0 += s.bk {
		nb := min(s.bk, hi-j0)
		kOff := (b*s.rows+j0)*s.Ck + g*s.D
		vOff := (b*s.rows+j0)*s.Cv + g*s.Dv
		p, ds := sc.s, sc.ds
		f.blockScores(p, s.bk, b, h, i0, n, j0, nb, false)
		for r := 0; r < n; r++ {
			row := p[r*s.bk : r*s.bk+nb]
			cl, ch := f.blockCols(i0+r, j0, nb)
			if math.IsInf(lse[r], 1) || cl >= ch {
				clear(row)
				continue
			}
			clear(row[:cl])
			clear(row[ch:])
			expRow(row[cl:ch], T(lse[r]))
		}
		lowerA, upperA := f.tileTri(sgemm.TriLowerA, i0, j0), f.tileTri(sgemm.TriUpperA, i0, j0)
		// dV_j += Pᵀ·dO_i
		gemmSerialTri(upperA, true, false, nb, s.Dv, n, 1, p, s.bk, f.dout[oOff:], s.Co, 1, f.dv[vOff:], s.Cv)
		// dP = dO_i·V_jᵀ (where P may be non-zero), then dS = P ∘ (dP − rowsum(dO ∘ O)),
		// exactly 0 where P is 0
		gemmSerialTri(f.tileTri(sgemm.TriLowerC, i0, j0), false, true, n, nb, s.Dv, 1, f.dout[oOff:], s.Co, f.v[vOff:], s.Cv, 0, ds, s.bk)
		for r := 0; r < n; r++ {
			pr, dr := p[r*s.bk:r*s.bk+nb], ds[r*s.bk:r*s.bk+nb]
			cl, ch := f.blockCols(i0+r, j0, nb)
			if math.IsInf(lse[r], 1) || cl >= ch { // P is 0 (see above)
				clear(dr)
				continue
			}
			clear(dr[:cl])
			clear(dr[ch:])
			softmaxGradRowD(dr[cl:ch], pr[cl:ch], dr[cl:ch], T(dd[r]))
		}
		if f.dbias != nil {
			for r := 0; r < n; r++ {
				br := f.dbias[s.biasRow(b, h, i0+r)+j0:]
				for c, x := range ds[r*s.bk : r*s.bk+nb] {
					br[c] += x
				}
			}
		}
		// dQ_i += scale·dS·K_j, dK_j += scale·dSᵀ·Q_i
		gemmSerialTri(lowerA, false, false, n, s.D, nb, T(s.scale), ds, s.bk, f.k[kOff:], s.Ck, 1, f.dq[qOff:], s.Cq)
		gemmSerialTri(upperA, true, false, nb, s.D, n, T(s.scale), ds, s.bk, f.q[qOff:], s.Cq, 1, f.dk[kOff:], s.Ck)
	}
}

// rowDots sets dd[r] = Σ_c dout[r·ld+c]·out[r·ld+c] over c < w for r < len(dd), each in
// float64 and in column order; four rows at a time, so that their chains of additions
// overlap.
func rowDots[T num.Float](dd []float64, dout, out []T, ld, w int) {
	r := 0
	for ; r+4 <= len(dd); r += 4 {
		g0, g1, g2, g3 := dout[r*ld:r*ld+w], dout[(r+1)*ld:(r+1)*ld+w], dout[(r+2)*ld:(r+2)*ld+w], dout[(r+3)*ld:(r+3)*ld+w]
		o0, o1, o2, o3 := out[r*ld:r*ld+w], out[(r+1)*ld:(r+1)*ld+w], out[(r+2)*ld:(r+2)*ld+w], out[(r+3)*ld:(r+3)*ld+w]
		var s0, s1, s2, s3 float64
		for c := range g0 {
			s0 += float64(g0[c]) * float64(o0[c])
			s1 += float64(g1[c]) * float64(o1[c])
			s2 += float64(g2[c]) * float64(o2[c])
			s3 += float64(g3[c]) * float64(o3[c])
		}
		dd[r], dd[r+1], dd[r+2], dd[r+3] = s0, s1, s2, s3
	}
	for ; r < len(dd); r++ {
		var dot float64
		for c, x := range dout[r*ld : r*ld+w] {
			dot += float64(x) * float64(out[r*ld+c])
		}
		dd[r] = dot
	}
}

// rowMax is the largest element of row, NaNs skipped, −Inf if there is none (for
// float32 internal/vec's MaxF32).
func rowMax[T num.Float](row []T) T {
	if r, ok := any(row).([]float32); ok {
		return T(vec.MaxF32(r))
	}
	m := T(math.Inf(-1))
	for _, x := range row {
		if x > m {
			m = x
		}
	}
	return m
}

// weights fills w (B, H, T_q, T_k) with the attention weights, row by row.
func (f *flashArgs[T]) weights(w []T) {
	s := f.s
	parallelDo(s.B*s.H, 2*s.B*s.H*s.Tq*f.nk*s.D, flashWeightRows[T]{f, w})
}

type flashWeightRows[T num.Float] struct {
	f *flashArgs[T]
	w []T
}

func (x flashWeightRows[T]) Do(bh int) {
	f, s := x.f, x.f.s
	b, h := bh/s.H, bh%s.H
	w := x.w[bh*s.Tq*s.Tk : (bh+1)*s.Tq*s.Tk]
	f.blockScores(w, s.Tk, b, h, 0, s.Tq, 0, f.nk, true) // f.nk < T_k: a cache's first keys
	for i := 0; i < s.Tq; i++ {
		clear(w[i*s.Tk+f.nk : (i+1)*s.Tk])
		row := w[i*s.Tk : i*s.Tk+f.nk]
		mx := f.negInf
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		if math.IsInf(float64(mx), -1) {
			clear(row)
			continue
		}
		inv := 1 / expShift(row, mx)
		for j := range row {
			row[j] = T(float64(row[j]) * inv)
		}
	}
}

// expShift sets row[c] = exp(row[c] − m) for a row whose entries are all ≤ m (−Inf
// included, giving 0) and returns their sum, in float64 and in order.
func expShift[T num.Float](row []T, m T) float64 {
	expRow(row, m)
	var sum float64
	for _, e := range row {
		sum += float64(e)
	}
	return sum
}

// expRow sets row[c] = exp(row[c] − m), in float32 with internal/vec's exponential
// (Cephes' expf, within 1 ulp of math.Exp, 0 below −87.33654).
func expRow[T num.Float](row []T, m T) {
	if r, ok := any(row).([]float32); ok {
		vec.ExpShiftF32(r, r, float32(m))
		return
	}
	for c, x := range row {
		row[c] = T(math.Exp(float64(x - m)))
	}
}

// addRowSums adds to l[r] the sum of x[lo[r]:hi[r]], in float64 and in order from 0
// (expShift's sum), for every r; four rows at a time, so that their chains of additions
// overlap.
func addRowSums[T num.Float](l []float64, x []T, lo, hi []int) {
	r := 0
	for ; r+4 <= len(l); r += 4 {
		x0, x1, x2, x3 := x[lo[r]:hi[r]], x[lo[r+1]:hi[r+1]], x[lo[r+2]:hi[r+2]], x[lo[r+3]:hi[r+3]]
		k := min(len(x0), len(x1), len(x2), len(x3))
		var s0, s1, s2, s3 float64
		y0, y1, y2, y3 := x0[:k], x1[:k], x2[:k], x3[:k]
		for c := range y0 {
			s0 += float64(y0[c])
			s1 += float64(y1[c])
			s2 += float64(y2[c])
			s3 += float64(y3[c])
		}
		for _, e := range x0[k:] {
			s0 += float64(e)
		}
		for _, e := range x1[k:] {
			s1 += float64(e)
		}
		for _, e := range x2[k:] {
			s2 += float64(e)
		}
		for _, e := range x3[k:] {
			s3 += float64(e)
		}
		l[r] += s0
		l[r+1] += s1
		l[r+2] += s2
		l[r+3] += s3
	}
	for ; r < len(l); r++ {
		var sum float64
		for _, e := range x[lo[r]:hi[r]] {
			sum += float64(e)
		}
		l[r] += sum
	}
}
