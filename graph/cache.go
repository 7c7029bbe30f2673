package graph

import (
	"fmt"
	"sync/atomic"

	"github.com/attend-go/attend"
	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// KVCache is the state of decoding with cached keys and values, shared by the ops of one
// or more decode graphs: how many positions of each of Batch sequences have been
// computed (Len, at most Cap), and, in numbered slots (one per attention layer), the
// keys and values of those positions. Ops built with a cache read Len when they run:
// AddPositionsAt adds the position rows from Len on, and Attention with
// AttentionOpts.Cache writes its new keys and values at rows Len… of its slot and
// attends over every row before them too. After a run, Advance commits its positions.
//
// A graph of the same layers thus runs a prompt and then one token at a time: build it
// once for the prompt's length and once for a single token, on one cache (see
// gpt.Decoder). A cache and the graphs built on it are one decoding state: not safe
// for concurrent use; give each goroutine its own.
type KVCache struct {
	id       uint64 // in the ops' names, so Gorgonia never merges the ops of two caches
	batch    int
	capacity int
	n        int
	slots    []*cacheSlot
}

var cacheIDs atomic.Uint64

// NewKVCache returns an empty cache for batch sequences of up to capacity positions.
func NewKVCache(batch, capacity int) (*KVCache, error) {
	if batch < 1 || capacity < 1 {
		return nil, errors.Wrapf(ErrArgument, "graph: NewKVCache: batch %d and capacity %d; want both ≥ 1", batch, capacity)
	}
	return &KVCache{id: cacheIDs.Add(1), batch: batch, capacity: capacity}, nil
}

// Len is the number of positions the cache holds.
func (c *KVCache) Len() int { return c.n }

// Cap is the number of positions the cache can hold.
func (c *KVCache) Cap() int { return c.capacity }

// Batch is the number of sequences the cache holds.
func (c *KVCache) Batch() int { return c.batch }

// Reset empties the cache: the next run starts at position 0.
func (c *KVCache) Reset() { c.n = 0 }

// Advance commits the first n positions of the last run: Len grows by n. A run over
// padded inputs (a prompt shorter than the graph's length) commits only the real ones;
// the next run overwrites the rest.
func (c *KVCache) Advance(n int) error {
	if n < 0 || c.n+n > c.capacity {
		return errors.Wrapf(ErrArgument, "graph: KVCache: advancing %d positions from %d exceeds the capacity %d", n, c.n, c.capacity)
	}
	c.n += n
	return nil
}

// cacheSlot is one attention layer's keys and values (B, capacity, width) in a cache.
type cacheSlot struct {
	cache        *KVCache
	index        int
	dtype        tensor.Dtype
	keys, values *tensor.Dense
}

// String names the slot in an op's name ("" for no slot).
func (s *cacheSlot) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(", cache:%d/%d", s.cache.id, s.index)
}

// slot returns slot i for the queries q and the new keys k or values v (one of them
// non-nil), allocating its store for them on first use and checking that they fit it.
func (c *KVCache) slot(i int, q, k, v *G.Node) (*cacheSlot, error) {
	if i < 0 {
		return nil, errors.Wrapf(ErrArgument, "cache slot %d; want ≥ 0", i)
	}
	for len(c.slots) <= i {
		c.slots = append(c.slots, &cacheSlot{cache: c, index: len(c.slots)})
	}
	s := c.slots[i]
	x, what, store := k, "k", &s.keys
	if v != nil {
		x, what, store = v, "v", &s.values
	}
	qs, xs := q.Shape(), x.Shape()
	bq, tq, _ := seqDims(qs)
	bx, tx, cx := seqDims(xs)
	if qs.Dims() != xs.Dims() || bq != bx || tq != tx {
		return nil, errors.Wrapf(ErrShape, "%s %q is %v for q %q %v; a cached attention wants the keys and values of q's own positions",
			what, x.Name(), xs, q.Name(), qs)
	}
	if bq != c.batch || tq > c.capacity {
		return nil, errors.Wrapf(ErrShape, "q %q is %v; the cache holds %d sequences of up to %d positions", q.Name(), qs, c.batch, c.capacity)
	}
	if s.keys == nil && s.values == nil {
		s.dtype = x.Dtype()
	}
	if x.Dtype() != s.dtype {
		return nil, errors.Wrapf(ErrDtype, "%s %q is %v; cache slot %d holds %v", what, x.Name(), x.Dtype(), i, s.dtype)
	}
	want := tensor.Shape{c.batch, c.capacity, cx}
	if *store == nil {
		*store = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(want...))
	} else if !(*store).Shape().Eq(want) {
		return nil, errors.Wrapf(ErrShape, "%s %q is %v; cache slot %d holds rows of width %d", what, x.Name(), xs, i, (*store).Shape()[2])
	}
	return s, nil
}

// store copies the rows of the new positions (src: rows per batch row) into dst, one of
// the slot's stores, after the cached ones, and returns how many positions there are
// then.
func (s *cacheSlot) store(kern attnKernels, dst, src *tensor.Dense, rows int) (int, error) {
	n := s.cache.n
	if n+rows > s.cache.capacity {
		return 0, errors.Wrapf(ErrArgument, "the cache holds %d of %d positions: %d more do not fit", n, s.cache.capacity, rows)
	}
	kern.copyRows(dst, src, rows, n, dst.Shape()[2])
	return n + rows, nil
}

// AddPositionsAt is AddPositions for a decode graph: x (B, T, C) or (T, C) holds the
// positions that follow the cache's, so a run adds the rows Len … Len+T−1 of pos (P, C),
// Len read from the cache when it runs (an error if they pass P). It has no gradient.
func AddPositionsAt(x, pos *G.Node, c *KVCache) (*G.Node, error) {
	wrap := func(err error) error { return attend.Wrap(err, "graph: AddPositionsAt") }
	if err := checkPair(x, "x", pos, "pos"); err != nil {
		return nil, wrap(err)
	}
	if c == nil {
		return nil, wrap(errors.Wrap(ErrArgument, "nil cache"))
	}
	if err := checkPositions(x, pos); err != nil {
		return nil, wrap(err)
	}
	xs, ps := x.Shape(), pos.Shape()
	_, t, ch := seqDims(xs)
	kern, err := attnKernelsFor(x.Dtype())
	if err != nil {
		return nil, wrap(err)
	}
	a := hm.TypeVariable('a')
	o := &op{
		name:  fmt.Sprintf("attend.AddPositionsAt{cache:%d}", c.id),
		arity: 2,
		typ:   hm.NewFnType(tensorType(xs.Dims(), a), tensorType(2, a), tensorType(xs.Dims(), a)),
		shape: xs.Clone(),
	}
	o.do = func(in []G.Value) (G.Value, error) {
		vals, err := o.denses(in)
		if err != nil {
			return nil, err
		}
		off := c.n
		if off+t > ps[0] {
			return nil, errors.Wrapf(ErrArgument, "positions %d…%d are past the %d rows of the position table", off, off+t-1, ps[0])
		}
		out := o.result(vals[0].Dtype())
		kern.addPositions(out, vals[0], vals[1], off*ch, t*ch)
		return out, nil
	}
	y, err := G.ApplyOp(o, x, pos)
	return y, wrap(err)
}
