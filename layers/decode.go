package layers

import (
	"math"

	"github.com/attend-go/attend/internal/sgemm"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Decoder runs a GPT incrementally with a key/value cache: feeding new tokens costs
// their own rows of every matrix product plus attention over the cached keys, not a
// forward pass over the whole context. It computes in float64 (gonum's BLAS) from a
// snapshot of the weights taken by NewDecoder — take a new one after training changes
// them — and gives the logits of the graph's forward pass, to rounding.
type Decoder struct {
	d64 *decoder[float64]
	d32 *decoder[float32]
	out []float64
}

type decoder[T float] struct {
	cfg    GPTConfig
	wte    []T // (V, C)
	wpe    []T // (P, C)
	head   []T // (C, V) untied head, or nil
	blocks []decBlock[T]
	lnf    decNorm[T]
	keys   [][]T // per block: (pos, C) keys so far
	vals   [][]T
	pos    int
	logits []T
	p      []float64
}

type float interface{ ~float32 | ~float64 }

type decNorm[T float] struct{ g, b []T }

type decBlock[T float] struct {
	attn       bool
	ln1, ln2   decNorm[T]
	wq, wk, wv []T // (C, C)
	wo         []T
	bq, bk, bv []T
	bo         []T
	fc, proj   []T // (C, 4C), (4C, C)
	bfc, bproj []T
}

func snapshot[T float](n *G.Node) []T {
	if n == nil {
		return nil
	}
	d := n.Value().(*tensor.Dense)
	var out []T
	switch d.Dtype() {
	case tensor.Float64:
		for _, x := range d.Float64s() {
			out = append(out, T(x))
		}
	default:
		for _, x := range d.Float32s() {
			out = append(out, T(x))
		}
	}
	return out
}

// NewDecoder snapshots the model's weights into a decoder with an empty cache, in the
// model's dtype (float32 runs on attend's SIMD GEMM).
func (m *GPT) NewDecoder() (*Decoder, error) {
	for _, p := range m.Learnables() {
		if _, ok := p.Value().(*tensor.Dense); !ok {
			return nil, errors.Wrapf(ErrConfig, "layers: GPT: learnable %q has no value", p.Name())
		}
	}
	if m.WTE.W.Dtype() == tensor.Float64 {
		return &Decoder{d64: newDecoder[float64](m)}, nil
	}
	return &Decoder{d32: newDecoder[float32](m), out: make([]float64, m.Config.Vocab)}, nil
}

func newDecoder[T float](m *GPT) *decoder[T] {
	c := m.Config
	d := &decoder[T]{cfg: c, wte: snapshot[T](m.WTE.W), wpe: snapshot[T](m.WPE.W)}
	if m.Head != nil {
		d.head = snapshot[T](m.Head.W)
	}
	norm := func(l *LayerNorm) decNorm[T] { return decNorm[T]{g: snapshot[T](l.Gain), b: snapshot[T](l.Bias)} }
	for _, b := range m.Blocks {
		db := decBlock[T]{ln2: norm(b.LN2), fc: snapshot[T](b.MLP.FC.W), proj: snapshot[T](b.MLP.Proj.W),
			bfc: snapshot[T](b.MLP.FC.B), bproj: snapshot[T](b.MLP.Proj.B)}
		if b.Attn != nil {
			a := b.Attn
			db.attn, db.ln1 = true, norm(b.LN1)
			db.wq, db.wk, db.wv, db.wo = snapshot[T](a.Wq), snapshot[T](a.Wk), snapshot[T](a.Wv), snapshot[T](a.Wo)
			db.bq, db.bk, db.bv, db.bo = snapshot[T](a.Bq), snapshot[T](a.Bk), snapshot[T](a.Bv), snapshot[T](a.Bo)
		}
		d.blocks = append(d.blocks, db)
	}
	d.lnf = norm(m.LNF)
	w := c.Width
	d.keys, d.vals = make([][]T, len(d.blocks)), make([][]T, len(d.blocks))
	for i := range d.blocks {
		d.keys[i] = make([]T, 0, c.BlockSize*w)
		d.vals[i] = make([]T, 0, c.BlockSize*w)
	}
	d.logits, d.p = make([]T, c.Vocab), make([]float64, c.BlockSize)
	return d
}

// Len is the number of tokens in the cache.
func (d *Decoder) Len() int {
	if d.d64 != nil {
		return d.d64.pos
	}
	return d.d32.pos
}

// Reset empties the cache.
func (d *Decoder) Reset() {
	if d.d64 != nil {
		d.d64.reset()
	} else {
		d.d32.reset()
	}
}

func (d *decoder[T]) reset() {
	d.pos = 0
	for i := range d.keys {
		d.keys[i], d.vals[i] = d.keys[i][:0], d.vals[i][:0]
	}
}

// Next feeds the token at the next position and returns the logits for the token after
// it (valid until the next call). The cache holds at most BlockSize tokens: Reset and
// Feed the last tokens again to slide the window.
func (d *Decoder) Next(token int) ([]float64, error) {
	return d.Feed([]int{token})
}

// Feed appends tokens at the next positions, computing them together (one matrix
// product per weight for all of them), and returns the logits for the token after the
// last one.
func (d *Decoder) Feed(tokens []int) ([]float64, error) {
	if d.d64 != nil {
		return d.d64.feed(tokens)
	}
	l, err := d.d32.feed(tokens)
	if err != nil {
		return nil, err
	}
	for i, v := range l {
		d.out[i] = float64(v)
	}
	return d.out, nil
}

func (d *decoder[T]) feed(tokens []int) ([]T, error) {
	c := d.cfg
	n := len(tokens)
	if n == 0 {
		return nil, errors.Wrap(ErrConfig, "layers: Decoder: no tokens")
	}
	for _, tok := range tokens {
		if tok < 0 || tok >= c.Vocab {
			return nil, errors.Wrapf(ErrConfig, "layers: Decoder: token %d outside the vocabulary of %d", tok, c.Vocab)
		}
	}
	if d.pos+n > c.BlockSize {
		return nil, errors.Wrapf(ErrConfig, "layers: Decoder: %d + %d tokens exceed the block size %d; Reset and feed the window again", d.pos, n, c.BlockSize)
	}
	w := c.Width
	x := make([]T, n*w) // (n, C) residual stream of the new rows
	for r, tok := range tokens {
		for j := 0; j < w; j++ {
			x[r*w+j] = d.wte[tok*w+j] + d.wpe[(d.pos+r)*w+j]
		}
	}
	h := make([]T, n*w)
	hw := w / c.Heads
	scale := 1 / math.Sqrt(float64(hw))
	for bi := range d.blocks {
		b := &d.blocks[bi]
		if b.attn {
			layerNormRows(h, x, b.ln1, w)
			q := affineRows(h, b.wq, b.bq, n, w, w) // (n, C) × (C, C)
			k := affineRows(h, b.wk, b.bk, n, w, w)
			v := affineRows(h, b.wv, b.bv, n, w, w)
			d.keys[bi] = append(d.keys[bi], k...)
			d.vals[bi] = append(d.vals[bi], v...)
			ks, vs := d.keys[bi], d.vals[bi]
			o := make([]T, n*w)
			for r := 0; r < n; r++ {
				t := d.pos + r + 1 // causal: keys 0 … pos+r
				for hd := 0; hd < c.Heads; hd++ {
					off := hd * hw
					mx := math.Inf(-1)
					for j := 0; j < t; j++ {
						s := 0.0
						for e := 0; e < hw; e++ {
							s += float64(q[r*w+off+e] * ks[j*w+off+e])
						}
						d.p[j] = s * scale
						mx = math.Max(mx, d.p[j])
					}
					sum := 0.0
					for j := 0; j < t; j++ {
						d.p[j] = math.Exp(d.p[j] - mx)
						sum += d.p[j]
					}
					for j := 0; j < t; j++ {
						pj := T(d.p[j] / sum)
						for e := 0; e < hw; e++ {
							o[r*w+off+e] += pj * vs[j*w+off+e]
						}
					}
				}
			}
			a := affineRows(o, b.wo, b.bo, n, w, w)
			for i := range x {
				x[i] += a[i]
			}
		}
		layerNormRows(h, x, b.ln2, w)
		f := affineRows(h, b.fc, b.bfc, n, w, 4*w) // (n, C) × (C, 4C)
		for i, v := range f {
			f[i] = T(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
		a := affineRows(f, b.proj, b.bproj, n, 4*w, w) // (n, 4C) × (4C, C)
		for i := range x {
			x[i] += a[i]
		}
	}
	last := x[(n-1)*w:]
	layerNormRows(h[:w], last, d.lnf, w)
	if d.head != nil {
		copy(d.logits, affineRows(h[:w], d.head, nil, 1, w, c.Vocab))
	} else { // tied: logits = h·wteᵀ
		clear(d.logits)
		gemm(false, true, 1, c.Vocab, w, h[:w], w, d.wte, w, d.logits, c.Vocab) // (1, C) × (V, C)ᵀ
	}
	d.pos += n
	return d.logits, nil
}

// affineRows returns x·W (+ b) for x (n, in) and W (in, out).
func affineRows[T float](x, w, b []T, n, in, out int) []T {
	y := make([]T, n*out)
	if b != nil {
		for r := 0; r < n; r++ {
			copy(y[r*out:(r+1)*out], b)
		}
	}
	gemm(false, false, n, out, in, x, in, w, out, y, out)
	return y
}

// gemm adds op(a)·op(b) to c: float64 through gonum, float32 through attend's SIMD GEMM.
func gemm[T float](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float64:
		ta, tb := blas.NoTrans, blas.NoTrans
		if tA {
			ta = blas.Trans
		}
		if tB {
			tb = blas.Trans
		}
		blas64.Implementation().Dgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float64), ldb, 1, any(c).([]float64), ldc)
	case []float32:
		sgemm.Gemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float32), ldb, 1, any(c).([]float32), ldc)
	}
}

func layerNormRows[T float](y, x []T, nrm decNorm[T], w int) {
	for r := 0; r < len(x)/w; r++ {
		layerNorm(y[r*w:(r+1)*w], x[r*w:(r+1)*w], nrm)
	}
}

func layerNorm[T float](y, x []T, n decNorm[T]) {
	mean := 0.0
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	vr := 0.0
	for _, v := range x {
		vr += (float64(v) - mean) * (float64(v) - mean)
	}
	rstd := 1 / math.Sqrt(vr/float64(len(x))+1e-5)
	for j, v := range x {
		o := (float64(v) - mean) * rstd * float64(n.g[j])
		if n.b != nil {
			o += float64(n.b[j])
		}
		y[j] = T(o)
	}
}
