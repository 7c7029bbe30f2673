package graph

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sync/atomic"

	"github.com/attend-go/attend/internal/num"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Window is a sliding attention window around each query's position p: the query may
// see the keys at positions p − Left … p + Right and no others (Causal still blocks the
// keys after p). Left and Right are ≥ 0.
type Window struct{ Left, Right int }

// SlidingWindow is the window of width w of Mistral, Longformer and PyTorch references:
// a key is blocked when |p_q − p_k| ≥ w, so with Causal a query sees itself and the
// w − 1 keys before it. w must be ≥ 1.
func SlidingWindow(w int) *Window { return &Window{Left: w - 1, Right: w - 1} }

// FlashOpts are the settings of FlashAttention and FlashWeights. The zero value is one
// head, scale 1/√(head width), nothing blocked, no bias.
//
// Positions: query row i is at p_q(i) = i + T_k − T_q and key row j at p_k(j) = j, so
// with fewer queries than keys the queries are the last T_q positions (decoding with
// cached keys: causal attention is aligned bottom-right).
type FlashOpts struct {
	// Heads is the number of query heads: q's width splits into Heads column blocks of
	// width d. Zero means 1. The number of key/value heads is k's width / d; it must
	// divide Heads, and query head h reads key/value head h / (Heads / kv heads)
	// (grouped-query attention; one kv head is multi-query attention).
	Heads int
	// Scale multiplies q·kᵀ. Zero means 1/√d.
	Scale float64
	// Causal blocks the keys after each query's position: p_k(j) > p_q(i).
	Causal bool
	// Window, when not nil, blocks the keys outside a sliding window (see Window).
	Window *Window
	// ALiBi, when not nil, holds one slope per query head: the score of query i and key j
	// in head h gets − ALiBi[h] · |p_q(i) − p_k(j)| (Press et al.; ALiBiSlopes gives the
	// paper's slopes). It has no gradient.
	ALiBi []float64
	// Bias, when not nil, is a node (Bb, Hb, T_q, T_k) of q's dtype added to the scaled
	// scores, Bb ∈ {1, B} and Hb ∈ {1, Heads} broadcast when 1 (relative position
	// biases, learned or not). Its gradient is computed like q's.
	Bias *G.Node
	// Mask, when not nil, is a 0/1 input node of q's dtype, 1 = blocked: (T_q, T_k) or
	// (B, T_q, T_k), as in AttentionOpts.
	Mask *G.Node
	// KeyPadding, when not nil, is a 0/1 input node (B, T_k), 1 = this key is padding.
	KeyPadding *G.Node
	// Cache, when not nil, makes the attention incremental (decoding), as
	// AttentionOpts.Cache does: k and v hold the keys and values of q's own positions,
	// which follow the Cache.Len() cached ones; each run writes them into the cache's
	// slot CacheSlot at rows Len … Len+T_q−1 and attends over all Len+T_q keys (the
	// queries being the last T_q positions). A cached FlashAttention has no gradient
	// and takes no Mask, KeyPadding or Bias. A cached FlashWeights writes k's rows
	// into the slot too (the same rows: it may run before or after the FlashAttention)
	// and gives (B, H, T_q, Cache.Cap()) weights, zero past the Len+T_q keys.
	Cache     *KVCache
	CacheSlot int
	// BlockQ and BlockK are the tile sizes: queries per task, keys per inner step. Zero
	// means 64. They change the rounding of float sums only.
	BlockQ, BlockK int
}

// ALiBiSlopes returns the ALiBi slopes of n heads exactly as the paper's get_slopes
// (Press, Smith and Lewis 2022, github.com/ofirpress/attention_with_linear_biases):
// for n a power of two the geometric sequence starting at and with ratio 2^(−8/n);
// otherwise the slopes of the largest power of two m < n followed by every other slope
// of 2m, the first n − m of them. n must be ≥ 1.
func ALiBiSlopes(n int) ([]float64, error) {
	if n < 1 {
		return nil, errors.Wrapf(ErrArgument, "graph: ALiBiSlopes: %d heads; want ≥ 1", n)
	}
	return alibiSlopes(n), nil
}

func alibiSlopes(n int) []float64 {
	pow2 := func(n int) []float64 {
		start := pow2Start(n)
		s := make([]float64, n)
		for i := range s {
			s[i] = start * powInt(start, i)
		}
		return s
	}
	l := math.Log2(float64(n))
	if l == math.Trunc(l) {
		return pow2(n)
	}
	closest := 1 << int(math.Floor(l))
	s := pow2(closest)
	more := alibiSlopes(2 * closest)
	for i := 0; i < len(more) && len(s) < n; i += 2 {
		s = append(s, more[i])
	}
	return s
}

// pow2Start is get_slopes's 2**(-2**-(log2(n)-3)) for n = 2^k, correctly rounded as
// C's pow gives it (Go's math.Pow(2, -0.5) is an ulp off): 2^−(2^(3−k)) exactly for
// k ≤ 3, else 0.5 square-rooted k − 3 times in high precision.
func pow2Start(n int) float64 {
	k := bits.Len(uint(n)) - 1
	if k <= 3 {
		return math.Ldexp(1, -(1 << (3 - k)))
	}
	v := new(big.Float).SetPrec(256).SetFloat64(0.5)
	for i := 0; i < k-3; i++ {
		v.Sqrt(v)
	}
	f, _ := v.Float64()
	return f
}

// powInt is x^n rounded once to float64, as C's pow (which Python's ** calls) gives it;
// Go's math.Pow(x, n) can be an ulp off, and get_slopes's ratio**i must match exactly.
func powInt(x float64, n int) float64 {
	const prec = 256
	r, b := new(big.Float).SetPrec(prec).SetFloat64(1), new(big.Float).SetPrec(prec).SetFloat64(x)
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r.Mul(r, b)
		}
		b.Mul(b, b)
	}
	f, _ := r.Float64()
	return f
}

// flashSpec is the sizes and settings of one flash attention op.
type flashSpec struct {
	B, H, KH, Tq, Tk, D, Dv int
	Cq, Ck, Cv, Co          int // row widths of q, k, v and out: H·D, KH·D, KH·Dv, H·Dv
	off                     int // p_q(i) − i = T_k − T_q
	rows                    int // rows per batch row of k and v: T_k, or the cache's capacity
	kv                      *cacheSlot
	scale                   float64
	causal                  bool
	win                     bool
	left, right             int
	slopes                  []float64
	bias                    bool
	biasB, biasH            bool // the bias has B batch rows (else 1) and H heads (else 1)
	mask, maskPerBatch, pad bool
	bq, bk                  int
	dims                    int // 2 or 3: q's dims
}

var flashIDs atomic.Uint64

// String lists every setting that changes the op's result (for its name and hash).
func (s *flashSpec) String() string {
	return fmt.Sprintf("B:%d H:%d KH:%d Tq:%d Tk:%d D:%d Dv:%d scale:%v causal:%v win:%v/%d/%d alibi:%v bias:%v/%v/%v mask:%v/%v pad:%v blocks:%d/%d%s",
		s.B, s.H, s.KH, s.Tq, s.Tk, s.D, s.Dv, s.scale, s.causal, s.win, s.left, s.right, s.slopes,
		s.bias, s.biasB, s.biasH, s.mask, s.maskPerBatch, s.pad, s.bq, s.bk, s.kv.String())
}

// flashSpecFor checks q, k (and v, when not nil) and the options and returns the op's
// spec and its inputs after q, k (and v): bias, mask, key padding, those present.
func flashSpecFor(q, k, v *G.Node, o FlashOpts) (*flashSpec, G.Nodes, error) {
	if err := checkFloat(q, "q"); err != nil {
		return nil, nil, err
	}
	if err := checkFloat(k, "k"); err != nil {
		return nil, nil, err
	}
	if v != nil {
		if err := checkFloat(v, "v"); err != nil {
			return nil, nil, err
		}
	}
	if err := checkSameDtype(q, map[string]*G.Node{"k": k, "v": v, "bias": o.Bias, "mask": o.Mask, "key padding": o.KeyPadding}); err != nil {
		return nil, nil, err
	}
	qs, ks := q.Shape(), k.Shape()
	if (qs.Dims() != 2 && qs.Dims() != 3) || qs.Dims() != ks.Dims() {
		return nil, nil, errors.Wrapf(ErrShape, "q %q is %v and k %q is %v; want both (T, C) or both (B, T, C)", q.Name(), qs, k.Name(), ks)
	}
	s := &flashSpec{dims: qs.Dims(), causal: o.Causal}
	var cq, ck int
	s.B, s.Tq, cq = seqDims(qs)
	bk, tk, ck := seqDims(ks)
	s.Tk = tk
	if bk != s.B {
		return nil, nil, errors.Wrapf(ErrShape, "q %q is %v and k %q is %v; want the same batch", q.Name(), qs, k.Name(), ks)
	}
	s.H = o.Heads
	if s.H == 0 {
		s.H = 1
	}
	if s.H < 0 {
		return nil, nil, errors.Wrapf(ErrArgument, "heads = %d; want ≥ 1", s.H)
	}
	if cq%s.H != 0 {
		return nil, nil, errors.Wrapf(ErrShape, "q %q is %v: its width %d is not divisible by %d heads", q.Name(), qs, cq, s.H)
	}
	s.D = cq / s.H
	if ck%s.D != 0 || ck == 0 {
		return nil, nil, errors.Wrapf(ErrShape, "k %q is %v: its width %d is not a multiple of the head width %d of q %v", k.Name(), ks, ck, s.D, qs)
	}
	s.KH = ck / s.D
	if s.H%s.KH != 0 {
		return nil, nil, errors.Wrapf(ErrShape, "k %q is %v: its %d heads of width %d do not divide the %d query heads", k.Name(), ks, s.KH, s.D, s.H)
	}
	s.Cq, s.Ck = cq, ck
	if v != nil {
		vs := v.Shape()
		bv, tv, cv := seqDims(vs)
		if vs.Dims() != qs.Dims() || bv != s.B || tv != s.Tk || cv%s.KH != 0 || cv == 0 {
			return nil, nil, errors.Wrapf(ErrShape, "v %q is %v; want %d rows per batch row of %d, of a width divisible by the %d key/value heads of k %v",
				v.Name(), vs, s.Tk, s.B, s.KH, ks)
		}
		s.Dv, s.Cv = cv/s.KH, cv
		s.Co = s.H * s.Dv
	}
	s.off = s.Tk - s.Tq
	s.rows = s.Tk
	if math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) || o.Scale < 0 {
		return nil, nil, errors.Wrapf(ErrArgument, "scale = %v; want a finite value ≥ 0 (0 = 1/√head width)", o.Scale)
	}
	s.scale = o.Scale
	if s.scale == 0 {
		s.scale = 1 / math.Sqrt(float64(s.D))
	}
	if o.Window != nil {
		if o.Window.Left < 0 || o.Window.Right < 0 {
			return nil, nil, errors.Wrapf(ErrArgument, "window %+v; want Left and Right ≥ 0", *o.Window)
		}
		s.win, s.left, s.right = true, o.Window.Left, o.Window.Right
	}
	if o.ALiBi != nil {
		if len(o.ALiBi) != s.H {
			return nil, nil, errors.Wrapf(ErrArgument, "%d ALiBi slopes for %d heads", len(o.ALiBi), s.H)
		}
		for h, m := range o.ALiBi {
			if math.IsNaN(m) || math.IsInf(m, 0) {
				return nil, nil, errors.Wrapf(ErrArgument, "ALiBi slope %d is %v", h, m)
			}
		}
		s.slopes = append([]float64(nil), o.ALiBi...)
	}
	var extra G.Nodes
	if o.Bias != nil {
		bs := o.Bias.Shape()
		if bs.Dims() != 4 || (bs[0] != 1 && bs[0] != s.B) || (bs[1] != 1 && bs[1] != s.H) || bs[2] != s.Tq || bs[3] != s.Tk {
			return nil, nil, errors.Wrapf(ErrShape, "bias %q is %v; want (1 or %d, 1 or %d, %d, %d)", o.Bias.Name(), bs, s.B, s.H, s.Tq, s.Tk)
		}
		s.bias, s.biasB, s.biasH = true, bs[0] == s.B && s.B > 1, bs[1] == s.H && s.H > 1
		extra = append(extra, o.Bias)
	}
	if o.Mask != nil {
		ms := o.Mask.Shape()
		switch {
		case ms.Eq(tensor.Shape{s.Tq, s.Tk}):
		case ms.Eq(tensor.Shape{s.B, s.Tq, s.Tk}):
			s.maskPerBatch = true
		default:
			return nil, nil, errors.Wrapf(ErrShape, "mask %q is %v; want (%d, %d) or (%d, %d, %d)", o.Mask.Name(), ms, s.Tq, s.Tk, s.B, s.Tq, s.Tk)
		}
		s.mask = true
		extra = append(extra, o.Mask)
	}
	if o.KeyPadding != nil {
		if ps := o.KeyPadding.Shape(); !ps.Eq(tensor.Shape{s.B, s.Tk}) {
			return nil, nil, errors.Wrapf(ErrShape, "key padding %q is %v; want (%d, %d)", o.KeyPadding.Name(), ps, s.B, s.Tk)
		}
		s.pad = true
		extra = append(extra, o.KeyPadding)
	}
	if o.Cache != nil {
		if o.Mask != nil || o.KeyPadding != nil || o.Bias != nil {
			return nil, nil, errors.Wrap(ErrArgument, "a cached attention takes no Mask, KeyPadding or Bias")
		}
		var err error
		if s.kv, err = o.Cache.slot(o.CacheSlot, q, k, nil); err != nil {
			return nil, nil, err
		}
		if v != nil {
			if _, err = o.Cache.slot(o.CacheSlot, q, nil, v); err != nil {
				return nil, nil, err
			}
		}
		s.Tk, s.rows = o.Cache.capacity, o.Cache.capacity
	}
	s.bq, s.bk = o.BlockQ, o.BlockK
	if s.bq == 0 {
		s.bq = 64
	}
	if s.bk == 0 {
		s.bk = 64
	}
	if s.bq < 0 || s.bk < 0 {
		return nil, nil, errors.Wrapf(ErrArgument, "blocks %d × %d; want sizes ≥ 1 (0 = 64)", o.BlockQ, o.BlockK)
	}
	s.bq, s.bk = min(s.bq, max(s.Tq, 1)), min(s.bk, max(s.Tk, 1))
	return s, extra, nil
}

// FlashAttention is scaled dot-product attention computed in tiles, FlashAttention-2
// style: for each batch row, query head h (reading key/value head g = h / (H / KH)) and
// block of queries it streams over blocks of keys with an online softmax, keeping only
// the output and each query's log-sum-exp; the backward pass recomputes the scores
// block by block. Memory is linear in the sequence lengths: no (T_q × T_k) matrix is
// kept between the passes (only the scratch of one tile per goroutine), and tiles that
// the causal pattern or the window block entirely are skipped.
//
// q is (T_q, H·d) or (B, T_q, H·d), k is (T_k, KH·d) or (B, T_k, KH·d) and v is
// (T_k, KH·d_v) or (B, T_k, KH·d_v), heads being column blocks as in Attention; the
// output is (B, T_q, H·d_v) (or 2-D like q). Each score is
//
//	s[b,h,i,j] = scale · q_h[i]·k_g[j] + bias[b|0, h|0, i, j] − ALiBi[h] · |p_q(i) − p_k(j)|
//
// and blocked keys (Causal, Window, Mask, KeyPadding) are excluded from the softmax. A
// query whose keys are all blocked gets a zero output row and zero gradients. Gradients
// flow to q, k, v and Bias. The backward pass is split over batch rows × kv heads.
func FlashAttention(q, k, v *G.Node, o FlashOpts) (*G.Node, error) {
	wrap := func(err error) error { return errors.Wrap(err, "graph: FlashAttention") }
	if v == nil {
		return nil, wrap(errors.Wrap(ErrArgument, "v is nil"))
	}
	s, extra, err := flashSpecFor(q, k, v, o)
	if err != nil {
		return nil, wrap(err)
	}
	build, err := byDtype(q.Dtype(), flashOp[float64], flashOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	out, err := build(s, append(G.Nodes{q, k, v}, extra...))
	return out, wrap(err)
}

// FlashWeights returns the attention weights (B, H, T_q, T_k) that FlashAttention with
// the same q, k and options uses, computed only when asked for (for plots and
// walkthroughs; FlashAttention never builds them). It has no gradient. With a Cache,
// T_k is the cache's capacity (see FlashOpts.Cache).
func FlashWeights(q, k *G.Node, o FlashOpts) (*G.Node, error) {
	wrap := func(err error) error { return errors.Wrap(err, "graph: FlashWeights") }
	s, extra, err := flashSpecFor(q, k, nil, o)
	if err != nil {
		return nil, wrap(err)
	}
	build, err := byDtype(q.Dtype(), flashWeightsOp[float64], flashWeightsOp[float32])
	if err != nil {
		return nil, wrap(err)
	}
	w, err := build(s, append(G.Nodes{q, k}, extra...))
	return w, wrap(err)
}

// flashState is what the forward op of one FlashAttention leaves for its backward op:
// the log-sum-exp of every query row (B, H, T_q), +Inf for a fully blocked row.
type flashState struct {
	lse []float64
}

func flashOp[T num.Float](s *flashSpec, inputs G.Nodes) (*G.Node, error) {
	id := flashIDs.Add(1)
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+1)
	for _, n := range inputs {
		types = append(types, tensorType(n.Dims(), a))
	}
	outShape := tensor.Shape{s.B, s.Tq, s.Co}
	if s.dims == 2 {
		outShape = tensor.Shape{s.Tq, s.Co}
	}
	diffWRT := make([]bool, len(inputs))
	diffWRT[0], diffWRT[1], diffWRT[2] = true, true, true
	if s.bias {
		diffWRT[3] = true
	}
	st := &flashState{lse: make([]float64, s.B*s.H*s.Tq)}
	pool := newFlashPool[T](s)
	o := &op{
		// The id keeps each FlashAttention its own node: its backward op reads the
		// log-sum-exp this op's run left in st.
		name:    fmt.Sprintf("attend.FlashAttention#%d{%v}", id, s),
		arity:   len(inputs),
		typ:     hm.NewFnType(append(types, tensorType(outShape.Dims(), a))...),
		shape:   outShape,
		diffWRT: diffWRT,
		elem:    dtypeOf[T](),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(vals[0].Dtype())
		f := flashArgsOf[T](s, vals, pool)
		if s.kv != nil {
			kern := attnKernel[T]{}
			n, err := s.kv.store(kern, s.kv.keys, vals[1], s.Tq)
			if err != nil {
				return nil, err
			}
			if _, err := s.kv.store(kern, s.kv.values, vals[2], s.Tq); err != nil {
				return nil, err
			}
			f.k, f.v = data[T](s.kv.keys), data[T](s.kv.values)
			f.nk, f.off = n, n-s.Tq
		}
		f.out = data[T](out)
		f.lse = st.lse
		f.forward()
		return out, nil
	}
	if s.kv == nil {
		o.diff = func(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
			return flashGrad[T](s, id, st, pool, in, out, grad)
		}
	}
	return G.ApplyOp(o, inputs...)
}

// flashGrad builds the backward op (one op computing dq, dk, dv and dbias into one flat
// buffer) and the ops that hand out its parts.
func flashGrad[T num.Float](s *flashSpec, id uint64, st *flashState, pool *flashPool[T], in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	sizes := []int{in[0].Shape().TotalSize(), in[1].Shape().TotalSize(), in[2].Shape().TotalSize()}
	if s.bias {
		sizes = append(sizes, in[3].Shape().TotalSize())
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	inputs := append(G.Nodes{in[0], in[1], in[2], out, grad}, in[3:]...)
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+1)
	for _, n := range inputs {
		types = append(types, tensorType(n.Dims(), a))
	}
	o := &op{
		name:  fmt.Sprintf("attend.FlashAttentionGrad#%d{%v}", id, s),
		arity: len(inputs),
		typ:   hm.NewFnType(append(types, tensorType(1, a))...),
		shape: tensor.Shape{total},
		elem:  dtypeOf[T](),
	}
	o.do = func(vin []G.Value) (G.Value, error) {
		vals, err := o.denses(vin)
		if err != nil {
			return nil, err
		}
		res := o.result(vals[0].Dtype())
		flat := data[T](res)
		f := flashArgsOf[T](s, append([]*tensor.Dense{vals[0], vals[1], vals[2]}, vals[5:]...), pool)
		f.out, f.dout, f.lse = data[T](vals[3]), data[T](vals[4]), st.lse
		f.dq, flat = flat[:sizes[0]], flat[sizes[0]:]
		f.dk, flat = flat[:sizes[1]], flat[sizes[1]:]
		f.dv, flat = flat[:sizes[2]], flat[sizes[2]:]
		if s.bias {
			f.dbias = flat[:sizes[3]]
			clear(f.dbias)
		}
		f.backward() // clears dq, dk and dv
		return res, nil
	}
	g, err := G.ApplyOp(o, inputs...)
	if err != nil {
		return nil, err
	}
	grads := make(G.Nodes, len(in))
	off := 0
	for i, n := range sizes {
		if grads[i], err = flatPart[T](g, id, off, in[i].Shape()); err != nil {
			return nil, err
		}
		off += n
	}
	return grads, nil
}

// flatPart is the op that copies elements off … off+|shape|−1 of the 1-D node flat into
// a tensor of the given shape. It has no gradient.
func flatPart[T num.Float](flat *G.Node, id uint64, off int, shape tensor.Shape) (*G.Node, error) {
	a := hm.TypeVariable('a')
	o := &op{
		name:  fmt.Sprintf("attend.FlashGradPart#%d{off:%d, shape:%v}", id, off, shape),
		arity: 1,
		typ:   hm.NewFnType(tensorType(1, a), tensorType(shape.Dims(), a)),
		shape: shape.Clone(),
		elem:  dtypeOf[T](),
	}
	n := shape.TotalSize()
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		res := o.result(vals[0].Dtype())
		copy(data[T](res), data[T](vals[0])[off:off+n])
		return res, nil
	}
	return G.ApplyOp(o, flat)
}

func flashWeightsOp[T num.Float](s *flashSpec, inputs G.Nodes) (*G.Node, error) {
	a := hm.TypeVariable('a')
	types := make([]hm.Type, 0, len(inputs)+1)
	for _, n := range inputs {
		types = append(types, tensorType(n.Dims(), a))
	}
	shape := tensor.Shape{s.B, s.H, s.Tq, s.Tk}
	o := &op{
		name:  fmt.Sprintf("attend.FlashWeights{%v}", s),
		arity: len(inputs),
		typ:   hm.NewFnType(append(types, tensorType(4, a))...),
		shape: shape,
		elem:  dtypeOf[T](),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		out := o.result(vals[0].Dtype())
		// The weights kernel reads q, k and the masks only: slot v stays empty.
		f := flashArgsOf[T](s, append([]*tensor.Dense{vals[0], vals[1], nil}, vals[2:]...), nil)
		if s.kv != nil {
			n, err := s.kv.store(attnKernel[T]{}, s.kv.keys, vals[1], s.Tq)
			if err != nil {
				return nil, err
			}
			f.k, f.nk, f.off = data[T](s.kv.keys), n, n-s.Tq
		}
		f.weights(data[T](out))
		return out, nil
	}
	return G.ApplyOp(o, inputs...)
}
