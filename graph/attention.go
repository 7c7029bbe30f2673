package graph

import (
	"fmt"
	"math"

	"github.com/attend-go/attend"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AttentionOpts are the settings of scaled dot-product attention. The zero value is one
// head, scale 1/√(head width), no mask.
type AttentionOpts struct {
	// Heads splits the columns of q, k and v into this many equal blocks, one per head.
	// Zero means 1.
	Heads int
	// Scale multiplies q·kᵀ. Zero means 1/√(width of one head of q).
	Scale float64
	// Causal blocks key j for query i when j > i + (T_k − T_q): with T_q = T_k the usual
	// lower-triangular pattern; with fewer queries than keys, the queries are taken to be
	// the last T_q positions (as when decoding with cached keys).
	Causal bool
	// Mask, when not nil, is a 0/1 input node of q's dtype, 1 = this query may NOT attend
	// to this key (PyTorch's boolean attn_mask): (T_q, T_k) shared by the batch, or
	// (B, T_q, T_k) per example. Build it with NewMask and fill it with SetMask.
	Mask *G.Node
	// KeyPadding, when not nil, is a 0/1 input node (B, T_k), 1 = this key is padding
	// (PyTorch's key_padding_mask).
	KeyPadding *G.Node
	// Cache, when not nil, makes the attention incremental (decoding): k and v hold the
	// keys and values of q's own positions, which come after the Cache.Len() positions
	// the cache holds. Each run writes k's and v's rows into the cache's store number
	// CacheSlot (one per attention layer, the same in every graph sharing the cache) at
	// rows Len…Len+T_q−1 and attends over all Len+T_q keys; Causal aligns the queries
	// with the last T_q of them. Weights are then (B, H, T_q, Cache.Cap()), zero past
	// the Len+T_q keys. KVCache.Advance commits the rows after the run. A cached
	// attention has no gradient, and takes neither Mask nor KeyPadding.
	Cache     *KVCache
	CacheSlot int
}

// Attention is scaled dot-product attention, fused: for each batch row b and head h,
//
//	weights[b,h] = softmax(scale · q_h · k_hᵀ, with blocked keys excluded)   (T_q, T_k)
//	out[b][:, h-th block] = weights[b,h] · v_h                                (T_q, d_v/H)
//
// q is (T_q, d) or (B, T_q, d), k is (T_k, d) or (B, T_k, d), v is (T_k, d_v) or
// (B, T_k, d_v), all with the same number of dims and dtype; heads are the column blocks
// of q, k and v (PyTorch's layout before its view/transpose). out has v's layout with T_q
// rows; weights is (B, H, T_q, T_k) (B = 1 for 2-D inputs). A query whose keys are all
// blocked gets all-zero weights, a zero output row and zero gradients, where PyTorch gives
// NaN. The backward pass is hand-written; masked positions get gradient exactly 0.
func Attention(q, k, v *G.Node, o AttentionOpts) (out, weights *G.Node, err error) {
	if weights, err = AttentionWeights(q, k, o); err != nil {
		return nil, nil, err
	}
	if err := checkFloat(v, "v"); err != nil {
		return nil, nil, attend.Wrap(err, "graph: Attention")
	}
	if o.Cache == nil {
		if out, err = ApplyWeights(weights, v); err != nil {
			return nil, nil, err
		}
		return out, weights, nil
	}
	wrap := func(err error) error { return attend.Wrap(err, "graph: Attention") }
	if err := checkPair(weights, "weights", v, "v"); err != nil {
		return nil, nil, wrap(err)
	}
	kv, err := o.Cache.slot(o.CacheSlot, q, nil, v)
	if err != nil {
		return nil, nil, wrap(err)
	}
	if out, err = headApply(weights, v, false, 1, kv); err != nil {
		return nil, nil, wrap(err)
	}
	return out, weights, nil
}

// AttentionWeights returns the attention weights node (B, H, T_q, T_k) of Attention.
func AttentionWeights(q, k *G.Node, o AttentionOpts) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Attention") }
	if err := checkFloat(q, "q"); err != nil {
		return nil, wrap(err)
	}
	if err := checkFloat(k, "k"); err != nil {
		return nil, wrap(err)
	}
	if err := checkSameDtype(q, map[string]*G.Node{"k": k, "mask": o.Mask, "key padding": o.KeyPadding}); err != nil {
		return nil, wrap(err)
	}
	heads := o.Heads
	if heads == 0 {
		heads = 1
	}
	if heads < 0 {
		return nil, wrap(errors.Wrapf(ErrArgument, "heads = %d; want ≥ 1", heads))
	}
	qs, ks := q.Shape(), k.Shape()
	if err := checkSeq(q, k); err != nil {
		return nil, wrap(err)
	}
	bq, tq, cq := seqDims(qs)
	_, tk, _ := seqDims(ks)
	var kv *cacheSlot
	if o.Cache != nil {
		var err error
		if kv, err = o.Cache.slot(o.CacheSlot, q, k, nil); err != nil {
			return nil, wrap(err)
		}
		if o.Mask != nil || o.KeyPadding != nil {
			return nil, wrap(errors.Wrap(ErrArgument, "a cached attention takes no Mask or KeyPadding"))
		}
	}
	if cq%heads != 0 {
		return nil, wrap(errors.Wrapf(ErrShape, "q %q is %v: its width %d is not divisible by %d heads", q.Name(), qs, cq, heads))
	}
	if math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) || o.Scale < 0 {
		return nil, wrap(errors.Wrapf(ErrArgument, "scale = %v; want a finite value ≥ 0 (0 = 1/√head width)", o.Scale))
	}
	scale := o.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(cq/heads))
	}
	sm := &softmaxSpec{causal: o.Causal}
	if o.Mask != nil {
		ms := o.Mask.Shape()
		switch {
		case ms.Eq(tensor.Shape{tq, tk}):
		case ms.Eq(tensor.Shape{bq, tq, tk}):
			sm.perBatch = true
		default:
			return nil, wrap(errors.Wrapf(ErrShape, "mask %q is %v; want (%d, %d) or (%d, %d, %d) for q %v and k %v",
				o.Mask.Name(), ms, tq, tk, bq, tq, tk, qs, ks))
		}
		sm.mask = o.Mask
	}
	if o.KeyPadding != nil {
		if ps := o.KeyPadding.Shape(); !ps.Eq(tensor.Shape{bq, tk}) {
			return nil, wrap(errors.Wrapf(ErrShape, "key padding %q is %v; want (%d, %d) for k %v", o.KeyPadding.Name(), ps, bq, tk, ks))
		}
		sm.pad = o.KeyPadding
	}
	w, err := headScores(q, k, heads, scale, sm, kv)
	return w, wrap(err)
}

// ApplyWeights returns the attention output weights · v per head: weights is
// (B, H, T_q, T_k), v is (T_k, d_v) or (B, T_k, d_v), the output has v's layout with T_q
// rows.
func ApplyWeights(weights, v *G.Node) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: ApplyWeights") }
	if err := checkPair(weights, "weights", v, "v"); err != nil {
		return nil, wrap(err)
	}
	ws, vs := weights.Shape(), v.Shape()
	if ws.Dims() != 4 || (vs.Dims() != 2 && vs.Dims() != 3) {
		return nil, wrap(errors.Wrapf(ErrShape, "weights %v and v %v: want (B, H, T_q, T_k) and (T_k, d_v) or (B, T_k, d_v)", ws, vs))
	}
	b, t, c := seqDims(vs)
	if ws[0] != b || ws[3] != t || c%ws[1] != 0 {
		return nil, wrap(errors.Wrapf(ErrShape, "weights %v do not fit v %v: want batch %d, %d keys and a width divisible by %d heads",
			ws, vs, ws[0], ws[3], ws[1]))
	}
	out, err := headApply(weights, v, false, 1, nil)
	return out, wrap(err)
}

// seqDims reads (B, T, C) off a 2-D (T, C) or 3-D (B, T, C) shape.
func seqDims(s tensor.Shape) (b, t, c int) {
	if s.Dims() == 2 {
		return 1, s[0], s[1]
	}
	return s[0], s[1], s[2]
}

// checkSeq checks that a and b are both (T, C) or both (B, T, C) with the same B and C.
func checkSeq(a, b *G.Node) error {
	as, bs := a.Shape(), b.Shape()
	if (as.Dims() != 2 && as.Dims() != 3) || as.Dims() != bs.Dims() {
		return errors.Wrapf(ErrShape, "%q is %v and %q is %v; want both (T, C) or both (B, T, C)", a.Name(), as, b.Name(), bs)
	}
	ba, _, ca := seqDims(as)
	bb, _, cb := seqDims(bs)
	if ba != bb || ca != cb {
		return errors.Wrapf(ErrShape, "%q is %v and %q is %v; want the same batch and width", a.Name(), as, b.Name(), bs)
	}
	return nil
}

// softmaxSpec asks headScores for a masked softmax over each row of scores.
type softmaxSpec struct {
	causal   bool
	mask     *G.Node // nil, (Ta, Tb) or (B, Ta, Tb)
	perBatch bool
	pad      *G.Node // nil or (B, Tb)
}

// headScores builds the node (B, H, Ta, Tb) of alpha · a_h · b_hᵀ for every batch row and
// head h (the h-th column block of a and b), and then, when sm is not nil, the masked
// softmax of each row. With a cache slot, b holds the keys of a's own Ta positions: a run
// stores them in the slot after the cached ones and scores a against all of them, and the
// node is (B, H, Ta, capacity).
func headScores(a, b *G.Node, heads int, alpha float64, sm *softmaxSpec, kv *cacheSlot) (*G.Node, error) {
	as, bs := a.Shape(), b.Shape()
	B, ta, ca := seqDims(as)
	_, tb, _ := seqDims(bs)
	kern, err := attnKernelsFor(a.Dtype())
	if err != nil {
		return nil, err
	}
	tv := hm.TypeVariable('a')
	types := []hm.Type{tensorType(as.Dims(), tv), tensorType(bs.Dims(), tv)}
	inputs := G.Nodes{a, b}
	name := fmt.Sprintf("attend.HeadScores{heads:%d, alpha:%v}", heads, alpha)
	if sm != nil {
		name = fmt.Sprintf("attend.AttentionWeights{heads:%d, scale:%v, causal:%v, mask:%v, perBatch:%v, pad:%v%s}",
			heads, alpha, sm.causal, sm.mask != nil, sm.perBatch, sm.pad != nil, kv.String())
		for _, m := range []*G.Node{sm.mask, sm.pad} {
			if m != nil {
				inputs = append(inputs, m)
				types = append(types, tensorType(m.Dims(), tv))
			}
		}
	}
	d := scoreDims{B: B, H: heads, Ta: ta, Tb: tb, Nk: tb, C: ca, W: ca / heads}
	if kv != nil {
		d.Tb = kv.cache.capacity
	}
	o := &op{
		name:    name,
		arity:   len(inputs),
		typ:     hm.NewFnType(append(types, tensorType(4, tv))...),
		shape:   tensor.Shape{B, heads, ta, d.Tb},
		diffWRT: append([]bool{true, true}, make([]bool, len(inputs)-2)...),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out, keys, d := o.result(vals[0].Dtype()), vals[1], d
		if kv != nil {
			if d.Nk, err = kv.store(kern, kv.keys, keys, ta); err != nil {
				return nil, err
			}
			keys = kv.keys
		}
		kern.scores(out, vals[0], keys, d, alpha, sm, vals[2:])
		return out, nil
	}
	if kv == nil {
		o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
			ds := grad
			if sm != nil {
				var err error
				if ds, err = softmaxGrad(out, grad, false); err != nil {
					return nil, err
				}
			}
			da, err := headApply(ds, in[1], false, alpha, nil)
			if err != nil {
				return nil, err
			}
			db, err := headApply(ds, in[0], true, alpha, nil)
			if err != nil {
				return nil, err
			}
			return append(G.Nodes{da, db}, make(G.Nodes, len(in)-2)...), nil
		}
	}
	return G.ApplyOp(o, inputs...)
}

// headApply builds alpha · p_h · v_h (or alpha · p_hᵀ · v_h when transP) for every batch
// row and head: p is (B, H, T1, T2), v is seq-shaped with T2 rows (T1 when transP), and
// the result is seq-shaped like v with T1 rows (T2 when transP). With a cache slot, p is
// (B, H, T1, capacity) and v holds the values of the T1 new positions: a run stores them
// in the slot after the cached ones and weighs all of them.
func headApply(p, v *G.Node, transP bool, alpha float64, kv *cacheSlot) (*G.Node, error) {
	ps, vs := p.Shape(), v.Shape()
	B, H, t1, t2 := ps[0], ps[1], ps[2], ps[3]
	_, tv, cv := seqDims(vs)
	rows, inner := t1, t2
	if transP {
		rows, inner = t2, t1
	}
	if kv != nil {
		inner = t1 // v holds the new positions' values
	}
	if tv != inner {
		return nil, errors.Wrapf(ErrShape, "weights %v and v %v: v needs %d rows", ps, vs, inner)
	}
	kern, err := attnKernelsFor(p.Dtype())
	if err != nil {
		return nil, err
	}
	outShape := tensor.Shape{B, rows, cv}
	if vs.Dims() == 2 {
		outShape = tensor.Shape{rows, cv}
	}
	a := hm.TypeVariable('a')
	o := &op{
		name:    fmt.Sprintf("attend.HeadApply{transP:%v, alpha:%v%s}", transP, alpha, kv.String()),
		arity:   2,
		typ:     hm.NewFnType(tensorType(4, a), tensorType(vs.Dims(), a), tensorType(vs.Dims(), a)),
		shape:   outShape,
		diffWRT: []bool{true, true},
	}
	d := applyDims{B: B, H: H, T1: t1, T2: t2, Rows: rows, Inner: inner, VRows: inner, C: cv, W: cv / H, TransP: transP}
	if kv != nil {
		d.VRows = t2 // the slot's capacity
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out, values, d := o.result(vals[0].Dtype()), vals[1], d
		if kv != nil {
			if d.Inner, err = kv.store(kern, kv.values, values, t1); err != nil {
				return nil, err
			}
			values = kv.values
		}
		kern.apply(out, vals[0], values, d, alpha)
		return out, nil
	}
	if kv == nil {
		o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
			var dp *G.Node
			var err error
			if transP {
				dp, err = headScores(in[1], grad, H, alpha, nil, nil) // alpha · v_h · dO_hᵀ  (T1, T2)
			} else {
				dp, err = headScores(grad, in[1], H, alpha, nil, nil) // alpha · dO_h · v_hᵀ  (T1, T2)
			}
			if err != nil {
				return nil, err
			}
			dv, err := headApply(in[0], grad, !transP, alpha, nil)
			if err != nil {
				return nil, err
			}
			return G.Nodes{dp, dv}, nil
		}
	}
	return G.ApplyOp(o, p, v)
}

// scoreDims are the sizes of a scores kernel: B batch rows of H heads, Ta queries
// against Tb key columns (the output's row length), of which the first Nk are computed
// (Nk = Tb without a cache), rows C wide with heads W wide.
type scoreDims struct{ B, H, Ta, Tb, Nk, C, W int }

// applyDims are the sizes of an apply kernel: weights (B, H, T1, T2) times v (B, VRows,
// C) in head blocks W wide, giving (B, Rows, C); the products run over the first Inner
// keys (all of them without a cache).
type applyDims struct {
	B, H, T1, T2, Rows, Inner, VRows, C, W int
	TransP                                 bool
}

// attnKernels are the attention kernels of one element type, picked when an op is built.
type attnKernels interface {
	// scores fills out (B, H, Ta, Tb) with alpha · a_h · b_hᵀ over the first Nk keys and,
	// when sm is not nil, replaces each row by its masked softmax (masks: sm's mask and
	// padding values, in that order).
	scores(out, a, b *tensor.Dense, d scoreDims, alpha float64, sm *softmaxSpec, masks []*tensor.Dense)
	// apply fills out (B, Rows, C) with alpha · op(p_h) · v_h per head column block.
	apply(out, p, v *tensor.Dense, d applyDims, alpha float64)
	// copyRows copies rows rows of width c from src (B, rows, c) into dst (B, cap, c) at
	// row off of each batch row.
	copyRows(dst, src *tensor.Dense, rows, off, c int)
	// addPositions sets out = x + pos[off+t] for every batch row and position t < T.
	addPositions(out, x, pos *tensor.Dense, off, tc int)
}

type attnKernel[T float] struct{}

// attnKernelsFor turns a node's dtype into the kernels' type parameter.
func attnKernelsFor(dt tensor.Dtype) (attnKernels, error) {
	switch dt {
	case tensor.Float64:
		return attnKernel[float64]{}, nil
	case tensor.Float32:
		return attnKernel[float32]{}, nil
	}
	return nil, errors.Wrapf(ErrDtype, "dtype %v; want float32 or float64", dt)
}

func (attnKernel[T]) scores(out, a, b *tensor.Dense, d scoreDims, alpha float64, sm *softmaxSpec, masks []*tensor.Dense) {
	scoresKernel(data[T](out), data[T](a), data[T](b), d, alpha, softmaxArgs[T](sm, masks))
}

func (attnKernel[T]) apply(out, p, v *tensor.Dense, d applyDims, alpha float64) {
	applyKernel(data[T](out), data[T](p), data[T](v), d, alpha)
}

func (attnKernel[T]) copyRows(dst, src *tensor.Dense, rows, off, c int) {
	dd, sd := data[T](dst), data[T](src)
	n := len(sd) / (rows * c) // batch rows
	capacity := len(dd) / (n * c)
	for b := 0; b < n; b++ {
		copy(dd[(b*capacity+off)*c:(b*capacity+off+rows)*c], sd[b*rows*c:(b+1)*rows*c])
	}
}

func (attnKernel[T]) addPositions(out, x, pos *tensor.Dense, off, tc int) {
	o, xd, pd := data[T](out), data[T](x), data[T](pos)
	addPositions(o, xd, pd[off:off+tc], tc)
}

// scoreMask is a softmaxSpec with the masks' data of one run (on = false: no softmax).
type scoreMask[T float] struct {
	on       bool
	causal   bool
	mask     []T
	perBatch bool
	pad      []T
}

func softmaxArgs[T float](sm *softmaxSpec, vals []*tensor.Dense) scoreMask[T] {
	if sm == nil {
		return scoreMask[T]{}
	}
	s := scoreMask[T]{on: true, causal: sm.causal, perBatch: sm.perBatch}
	if sm.mask != nil {
		s.mask, vals = data[T](vals[0]), vals[1:]
	}
	if sm.pad != nil {
		s.pad = data[T](vals[0])
	}
	return s
}

// scoresKernel fills out (B, H, Ta, Tb) with alpha · a_h · b_hᵀ over the first Nk keys
// of b (B, Tb, C) and, when sm is on, replaces each row by its masked softmax, the
// keys from Nk on blocked. Causal queries are the last Ta of the Nk positions.
func scoresKernel[T float](out, a, b []T, d scoreDims, alpha float64, sm scoreMask[T]) {
	parallelDo(d.B*d.H, 2*d.B*d.Ta*d.Nk*d.C, scoresHeads[T]{out, a, b, d, alpha, sm})
}

// scoresHeads is scoresKernel's loop body, one (batch, head) pair per part (a value, so
// that the loop allocates nothing).
type scoresHeads[T float] struct {
	out, a, b []T
	d         scoreDims
	alpha     float64
	sm        scoreMask[T]
}

func (s scoresHeads[T]) Do(bh int) {
	out, a, b, d, alpha, sm := s.out, s.a, s.b, s.d, s.alpha, s.sm
	bi, h := bh/d.H, bh%d.H
	c := out[bh*d.Ta*d.Tb : (bh+1)*d.Ta*d.Tb]
	gemmSerial(false, true, d.Ta, d.Nk, d.W, T(alpha),
		a[bi*d.Ta*d.C+h*d.W:], d.C, b[bi*d.Tb*d.C+h*d.W:], d.C, 0, c, d.Tb)
	if !sm.on {
		return
	}
	for i := 0; i < d.Ta; i++ {
		rm := rowMask[T]{limit: d.Nk}
		if sm.causal {
			rm.limit = min(max(i+d.Nk-d.Ta+1, 0), d.Nk)
		}
		if sm.mask != nil {
			m := i
			if sm.perBatch {
				m += bi * d.Ta
			}
			rm.mask = sm.mask[m*d.Tb : (m+1)*d.Tb]
		}
		if sm.pad != nil {
			rm.pad = sm.pad[bi*d.Tb : (bi+1)*d.Tb]
		}
		row := c[i*d.Tb : (i+1)*d.Tb]
		softmaxRow(row, row, rm)
	}
}

// applyKernel fills out (B, Rows, C) with alpha · op(p_h) · v_h per head column block,
// over the first Inner rows of v (B, VRows, C).
func applyKernel[T float](out, p, v []T, d applyDims, alpha float64) {
	parallelDo(d.B*d.H, 2*d.B*d.Rows*d.Inner*d.C, applyHeads[T]{out, p, v, d, alpha})
}

// applyHeads is applyKernel's loop body, one (batch, head) pair per part.
type applyHeads[T float] struct {
	out, p, v []T
	d         applyDims
	alpha     float64
}

func (s applyHeads[T]) Do(bh int) {
	d := s.d
	bi, h := bh/d.H, bh%d.H
	gemmSerial(d.TransP, false, d.Rows, d.W, d.Inner, T(s.alpha),
		s.p[bh*d.T1*d.T2:], d.T2, s.v[bi*d.VRows*d.C+h*d.W:], d.C, 0, s.out[bi*d.Rows*d.C+h*d.W:], d.C)
}

// Scores returns the per-head similarity scores scale · a_h · b_hᵀ, (B, H, T_a, T_b), of
// two (T, C) or (B, T, C) nodes whose C columns split into heads equal blocks: with a = q
// and b = k, the scaled similarities that Attention feeds to its softmax.
func Scores(a, b *G.Node, heads int, scale float64) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: Scores") }
	if err := checkPair(a, "a", b, "b"); err != nil {
		return nil, wrap(err)
	}
	if err := checkSeq(a, b); err != nil {
		return nil, wrap(err)
	}
	if heads < 1 {
		return nil, wrap(errors.Wrapf(ErrArgument, "heads = %d; want ≥ 1", heads))
	}
	if _, _, c := seqDims(a.Shape()); c%heads != 0 {
		return nil, wrap(errors.Wrapf(ErrShape, "width %d is not divisible by %d heads", c, heads))
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		return nil, wrap(errors.Wrapf(ErrArgument, "scale = %v", scale))
	}
	s, err := headScores(a, b, heads, scale, nil, nil)
	return s, wrap(err)
}
