package graph_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// flashCase is one FlashAttention problem: q (B, Tq, H·D), k (B, Tk, KH·D),
// v (B, Tk, KH·Dv) and the options' variants.
type flashCase struct {
	name             string
	B, Tq, Tk, D, Dv int
	H, KH            int
	causal           bool
	window           *graph.Window
	alibi            bool
	bias             [2]int // the bias's batch and head dims; {0, 0}: no bias
	mask             string // "", "shared" or "batch"
	fullMask         bool   // block every key of one query in the mask
	padLens          []int
	scale            float64
	bq, bk           int
	twoD             bool
}

func (c flashCase) seq(t, w int) tensor.Shape {
	if c.twoD {
		return tensor.Shape{t, w}
	}
	return tensor.Shape{c.B, t, w}
}

// flashCases are the variants alone and combined, at gradient-check sizes.
func flashCases() []flashCase {
	return []flashCase{
		{name: "plain", B: 2, Tq: 4, Tk: 4, D: 2, Dv: 3, H: 2, KH: 2},
		{name: "2d", B: 1, Tq: 3, Tk: 5, D: 2, Dv: 2, H: 2, KH: 2, twoD: true},
		{name: "causal", B: 2, Tq: 5, Tk: 5, D: 2, Dv: 2, H: 2, KH: 2, causal: true, bq: 2, bk: 3},
		{name: "gqa", B: 1, Tq: 4, Tk: 4, D: 2, Dv: 2, H: 4, KH: 2, causal: true},
		{name: "mqa", B: 2, Tq: 4, Tk: 4, D: 2, Dv: 2, H: 3, KH: 1, causal: true, bq: 3, bk: 2},
		{name: "decode-bottom-right", B: 2, Tq: 2, Tk: 6, D: 2, Dv: 2, H: 2, KH: 1, causal: true, bq: 1, bk: 4},
		{name: "window-causal", B: 1, Tq: 7, Tk: 7, D: 2, Dv: 2, H: 2, KH: 2, causal: true, window: graph.SlidingWindow(3), bq: 2, bk: 2},
		{name: "window-two-sided", B: 1, Tq: 6, Tk: 6, D: 2, Dv: 2, H: 2, KH: 2, window: &graph.Window{Left: 1, Right: 2}, bq: 4, bk: 3},
		{name: "alibi", B: 1, Tq: 5, Tk: 5, D: 2, Dv: 2, H: 3, KH: 3, causal: true, alibi: true},
		{name: "bias-1xH", B: 2, Tq: 4, Tk: 4, D: 2, Dv: 2, H: 2, KH: 2, bias: [2]int{1, 2}, bq: 3, bk: 3},
		{name: "bias-Bx1", B: 2, Tq: 4, Tk: 4, D: 2, Dv: 2, H: 2, KH: 2, causal: true, bias: [2]int{2, 1}},
		{name: "bias-1x1-gqa", B: 2, Tq: 3, Tk: 4, D: 2, Dv: 2, H: 4, KH: 2, bias: [2]int{1, 1}, bq: 2, bk: 2},
		{name: "bias-BxH", B: 2, Tq: 3, Tk: 3, D: 2, Dv: 2, H: 2, KH: 1, causal: true, bias: [2]int{2, 2}},
		{name: "mask-padding-fully-blocked", B: 2, Tq: 4, Tk: 4, D: 2, Dv: 2, H: 2, KH: 2, causal: true,
			mask: "batch", fullMask: true, padLens: []int{3, 4}, bq: 3, bk: 2},
		{name: "shared-mask-scale", B: 2, Tq: 3, Tk: 4, D: 2, Dv: 2, H: 2, KH: 2, mask: "shared", scale: 0.8},
		{name: "all-combined", B: 2, Tq: 5, Tk: 6, D: 2, Dv: 3, H: 4, KH: 2, causal: true, window: graph.SlidingWindow(4),
			alibi: true, bias: [2]int{1, 4}, mask: "batch", padLens: []int{6, 5}, scale: 0.9, bq: 2, bk: 3},
	}
}

// flashGraph is a flashCase built in a graph.
type flashGraph struct {
	q, k, v, bias, mask, pad *G.Node
	opts                     graph.FlashOpts
	out                      *G.Node
	blocked                  func(b, i, j int) bool
}

func (c flashCase) build(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, seed uint64) flashGraph {
	t.Helper()
	r := newRand(seed)
	f := flashGraph{
		q: graphtest.Input(g, dt, "q", c.seq(c.Tq, c.H*c.D), graphtest.Normals(r, c.B*c.Tq*c.H*c.D, 1)),
		k: graphtest.Input(g, dt, "k", c.seq(c.Tk, c.KH*c.D), graphtest.Normals(r, c.B*c.Tk*c.KH*c.D, 1)),
		v: graphtest.Input(g, dt, "v", c.seq(c.Tk, c.KH*c.Dv), graphtest.Normals(r, c.B*c.Tk*c.KH*c.Dv, 1)),
	}
	o := graph.FlashOpts{Heads: c.H, Scale: c.scale, Causal: c.causal, Window: c.window, BlockQ: c.bq, BlockK: c.bk}
	if c.alibi {
		o.ALiBi, _ = graph.ALiBiSlopes(c.H)
		for h := range o.ALiBi {
			o.ALiBi[h] *= 8 // large enough to matter at these lengths
		}
	}
	if c.bias[0] > 0 {
		s := tensor.Shape{c.bias[0], c.bias[1], c.Tq, c.Tk}
		f.bias = graphtest.Input(g, dt, "bias", s, graphtest.Normals(r, s.TotalSize(), 1))
		o.Bias = f.bias
	}
	var mask, pad []bool
	f.mask, mask = graphtest.RandomMask(t, g, dt, r, c.mask, c.B, c.Tq, c.Tk, c.fullMask)
	o.Mask = f.mask
	if c.padLens != nil {
		var err error
		if pad, err = graph.KeyPaddingMask(c.padLens, c.Tk); err != nil {
			t.Fatal(err)
		}
		f.pad = graphtest.MaskInput(t, g, dt, "pad", tensor.Shape{c.B, c.Tk}, pad)
		o.KeyPadding = f.pad
	}
	f.blocked = func(b, i, j int) bool {
		p := i + c.Tk - c.Tq
		if c.causal && j > p {
			return true
		}
		if c.window != nil && (j < p-c.window.Left || j > p+c.window.Right) {
			return true
		}
		if mask != nil {
			m := i
			if c.mask == "batch" {
				m += b * c.Tq
			}
			if mask[m*c.Tk+j] {
				return true
			}
		}
		return pad != nil && pad[b*c.Tk+j]
	}
	f.opts = o
	var err error
	if f.out, err = graph.FlashAttention(f.q, f.k, f.v, o); err != nil {
		t.Fatal(err)
	}
	return f
}

// refFlash computes the case with plain loops in float64: out (B, Tq, H·Dv) and the
// weights (B, H, Tq, Tk).
func refFlash(c flashCase, f flashGraph) (out, weights []float64) {
	q, k, v := graphtest.Floats(f.q), graphtest.Floats(f.k), graphtest.Floats(f.v)
	var bias []float64
	if f.bias != nil {
		bias = graphtest.Floats(f.bias)
	}
	scale := c.scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(c.D))
	}
	out = make([]float64, c.B*c.Tq*c.H*c.Dv)
	weights = make([]float64, c.B*c.H*c.Tq*c.Tk)
	for b := 0; b < c.B; b++ {
		for h := 0; h < c.H; h++ {
			g := h / (c.H / c.KH)
			for i := 0; i < c.Tq; i++ {
				s := make([]float64, c.Tk)
				for j := range s {
					for d := 0; d < c.D; d++ {
						s[j] += q[(b*c.Tq+i)*c.H*c.D+h*c.D+d] * k[(b*c.Tk+j)*c.KH*c.D+g*c.D+d]
					}
					s[j] *= scale
					if bias != nil {
						s[j] += bias[((min(b, c.bias[0]-1)*c.bias[1]+min(h, c.bias[1]-1))*c.Tq+i)*c.Tk+j]
					}
					if f.opts.ALiBi != nil {
						s[j] -= f.opts.ALiBi[h] * math.Abs(float64(i+c.Tk-c.Tq-j))
					}
				}
				p := refSoftmax(s, c.Tk, func(j int) bool { return f.blocked(b, i, j) }, false)
				copy(weights[((b*c.H+h)*c.Tq+i)*c.Tk:], p)
				for d := 0; d < c.Dv; d++ {
					for j, pj := range p {
						out[(b*c.Tq+i)*c.H*c.Dv+h*c.Dv+d] += pj * v[(b*c.Tk+j)*c.KH*c.Dv+g*c.Dv+d]
					}
				}
			}
		}
	}
	return out, weights
}

// TestFlashMatchesReference checks FlashAttention's output and FlashWeights against
// plain loops for every variant, in float64 and float32, with the case's tiles and
// with 1 × 1 tiles; blocked keys get exactly 0 weight.
func TestFlashMatchesReference(t *testing.T) {
	for i, c := range flashCases() {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			for _, tiles := range [][2]int{{c.bq, c.bk}, {1, 1}} {
				c := c
				c.bq, c.bk = tiles[0], tiles[1]
				t.Run(fmt.Sprintf("%s/%v/%dx%d", c.name, dt, c.bq, c.bk), func(t *testing.T) {
					g := G.NewGraph()
					f := c.build(t, g, dt, uint64(900+i))
					w, err := graph.FlashWeights(f.q, f.k, f.opts)
					if err != nil {
						t.Fatal(err)
					}
					if ws := (tensor.Shape{c.B, c.H, c.Tq, c.Tk}); !w.Shape().Eq(ws) {
						t.Errorf("weights shape %v, want %v", w.Shape(), ws)
					}
					if os := c.seq(c.Tq, c.H*c.Dv); !f.out.Shape().Eq(os) {
						t.Errorf("output shape %v, want %v", f.out.Shape(), os)
					}
					graphtest.RunGraph(t, g)
					wantOut, wantW := refFlash(c, f)
					tol := 1e-13
					if dt == tensor.Float32 {
						tol = 2e-5
					}
					graphtest.ExpectClose(t, "output", graphtest.Floats(f.out), wantOut, tol)
					graphtest.ExpectClose(t, "weights", graphtest.Floats(w), wantW, tol)
					ww := graphtest.Floats(w)
					for idx, x := range ww {
						co := coords(w.Shape(), idx)
						if f.blocked(co[0], co[2], co[3]) && x != 0 {
							t.Errorf("weight %v of a blocked key = %v, want exactly 0", co, x)
						}
					}
				})
			}
		}
	}
}

// TestFlashGradCheck checks the gradients of q, k, v (and the bias) against central
// differences for every variant (float64).
func TestFlashGradCheck(t *testing.T) {
	for i, c := range flashCases() {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			f := c.build(t, g, tensor.Float64, uint64(700+i))
			r := graphtest.Input(g, tensor.Float64, "r", f.out.Shape(), graphtest.Normals(newRand(uint64(70+i)), f.out.Shape().TotalSize(), 1))
			wrt := G.Nodes{f.q, f.k, f.v}
			if f.bias != nil {
				wrt = append(wrt, f.bias)
			}
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, f.out, r), wrt)
		})
	}
}

// TestRoPEGradCheck checks RoPE's gradient in both styles, then through attention with
// RoPE on q and k and fewer queries than keys.
func TestRoPEGradCheck(t *testing.T) {
	for _, style := range []graph.RoPEStyle{graph.RoPEInterleaved, graph.RoPEHalf} {
		t.Run(style.String(), func(t *testing.T) {
			g := G.NewGraph()
			r := newRand(31)
			x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3, 8}, graphtest.Normals(r, 48, 1))
			y := graphtest.Must(t)(graph.RoPE(x, graph.RoPEOpts{HeadDim: 4, Theta: 100, Style: style, Offset: 5}))
			w := graphtest.Input(g, tensor.Float64, "w", y.Shape(), graphtest.Normals(r, 48, 1))
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, y, w), G.Nodes{x})
		})
		t.Run(style.String()+"/attention", func(t *testing.T) {
			g := G.NewGraph()
			r := newRand(32)
			q := graphtest.Input(g, tensor.Float64, "q", tensor.Shape{1, 2, 8}, graphtest.Normals(r, 16, 1))
			k := graphtest.Input(g, tensor.Float64, "k", tensor.Shape{1, 5, 4}, graphtest.Normals(r, 20, 1))
			v := graphtest.Input(g, tensor.Float64, "v", tensor.Shape{1, 5, 4}, graphtest.Normals(r, 20, 1))
			rq := graphtest.Must(t)(graph.RoPE(q, graph.RoPEOpts{HeadDim: 4, Theta: 50, Style: style, Offset: 3}))
			rk := graphtest.Must(t)(graph.RoPE(k, graph.RoPEOpts{HeadDim: 4, Theta: 50, Style: style}))
			out := graphtest.Must(t)(graph.FlashAttention(rq, rk, v, graph.FlashOpts{Heads: 2, Causal: true, BlockQ: 1, BlockK: 2}))
			w := graphtest.Input(g, tensor.Float64, "w", out.Shape(), graphtest.Normals(r, out.Shape().TotalSize(), 1))
			graphtest.CheckGrads(t, graphtest.WeightedSum(t, out, w), G.Nodes{q, k, v})
		})
	}
}

// TestFlashMatchesAttention checks FlashAttention against the existing fused Attention
// op in float64 (1e-12): outputs and the gradients of q, k and v, on causal, masked,
// padded and decoding cases, with tiles that do and do not divide the lengths.
func TestFlashMatchesAttention(t *testing.T) {
	cases := []flashCase{
		{name: "causal", B: 2, Tq: 9, Tk: 9, D: 3, Dv: 2, H: 2, KH: 2, causal: true},
		{name: "masked", B: 2, Tq: 7, Tk: 7, D: 2, Dv: 2, H: 2, KH: 2, mask: "batch", fullMask: true},
		{name: "shared-mask-padding", B: 2, Tq: 6, Tk: 8, D: 2, Dv: 3, H: 2, KH: 2, mask: "shared", padLens: []int{5, 8}},
		{name: "causal-padding-decode", B: 2, Tq: 3, Tk: 8, D: 4, Dv: 4, H: 1, KH: 1, causal: true, padLens: []int{8, 6}},
		{name: "causal-Tq>Tk", B: 1, Tq: 6, Tk: 4, D: 2, Dv: 2, H: 2, KH: 2, causal: true},
	}
	for i, c := range cases {
		for _, tiles := range [][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 4}, {5, 2}, {64, 7}} {
			c := c
			c.bq, c.bk = tiles[0], tiles[1]
			t.Run(fmt.Sprintf("%s/%dx%d", c.name, c.bq, c.bk), func(t *testing.T) {
				g := G.NewGraph()
				f := c.build(t, g, tensor.Float64, uint64(500+i))
				ref, _, err := graph.Attention(f.q, f.k, f.v, graph.AttentionOpts{
					Heads: c.H, Scale: c.scale, Causal: c.causal, Mask: f.mask, KeyPadding: f.pad})
				if err != nil {
					t.Fatal(err)
				}
				r := graphtest.Input(g, tensor.Float64, "r", f.out.Shape(), graphtest.Normals(newRand(uint64(50+i)), f.out.Shape().TotalSize(), 1))
				gf, err := G.Grad(graphtest.WeightedSum(t, f.out, r), f.q, f.k, f.v)
				if err != nil {
					t.Fatal(err)
				}
				ga, err := G.Grad(graphtest.WeightedSum(t, ref, r), f.q, f.k, f.v)
				if err != nil {
					t.Fatal(err)
				}
				graphtest.RunGraph(t, g)
				graphtest.ExpectClose(t, "output", graphtest.Floats(f.out), graphtest.Floats(ref), 1e-12)
				for j, n := range []string{"dq", "dk", "dv"} {
					graphtest.ExpectClose(t, n, graphtest.Floats(gf[j]), graphtest.Floats(ga[j]), 1e-12)
				}
			})
		}
	}
}

// TestFlashGQAEqualsRepeatedKV checks that grouped-query attention equals multi-head
// attention over keys and values whose heads are repeated (PyTorch's repeat_interleave),
// gradients included: the repeated heads' gradients add up to the shared head's.
func TestFlashGQAEqualsRepeatedKV(t *testing.T) {
	const B, T, D, H, KH = 2, 5, 3, 6, 2
	g := G.NewGraph()
	r := newRand(77)
	q := graphtest.Input(g, tensor.Float64, "q", tensor.Shape{B, T, H * D}, graphtest.Normals(r, B*T*H*D, 1))
	kd, vd := graphtest.Normals(r, B*T*KH*D, 1), graphtest.Normals(r, B*T*KH*D, 1)
	k := graphtest.Input(g, tensor.Float64, "k", tensor.Shape{B, T, KH * D}, kd)
	v := graphtest.Input(g, tensor.Float64, "v", tensor.Shape{B, T, KH * D}, vd)
	repeat := func(x []float64) []float64 {
		out := make([]float64, 0, B*T*H*D)
		for row := 0; row < B*T; row++ {
			for h := 0; h < H; h++ {
				g := h / (H / KH)
				out = append(out, x[row*KH*D+g*D:row*KH*D+(g+1)*D]...)
			}
		}
		return out
	}
	kr := graphtest.Input(g, tensor.Float64, "k.rep", tensor.Shape{B, T, H * D}, repeat(kd))
	vr := graphtest.Input(g, tensor.Float64, "v.rep", tensor.Shape{B, T, H * D}, repeat(vd))
	o := graph.FlashOpts{Heads: H, Causal: true, BlockQ: 2, BlockK: 3}
	gqa := graphtest.Must(t)(graph.FlashAttention(q, k, v, o))
	mha := graphtest.Must(t)(graph.FlashAttention(q, kr, vr, o))
	w := graphtest.Input(g, tensor.Float64, "w", gqa.Shape(), graphtest.Normals(r, B*T*H*D, 1))
	g1, err := G.Grad(graphtest.WeightedSum(t, gqa, w), q, k, v)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := G.Grad(graphtest.WeightedSum(t, mha, w), q, kr, vr)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.RunGraph(t, g)
	graphtest.ExpectClose(t, "output", graphtest.Floats(gqa), graphtest.Floats(mha), 1e-13)
	graphtest.ExpectClose(t, "dq", graphtest.Floats(g1[0]), graphtest.Floats(g2[0]), 1e-13)
	sum := func(x []float64) []float64 { // the repeated heads' gradients, summed per kv head
		out := make([]float64, B*T*KH*D)
		for row := 0; row < B*T; row++ {
			for h := 0; h < H; h++ {
				g := h / (H / KH)
				for d := 0; d < D; d++ {
					out[row*KH*D+g*D+d] += x[row*H*D+h*D+d]
				}
			}
		}
		return out
	}
	graphtest.ExpectClose(t, "dk", graphtest.Floats(g1[1]), sum(graphtest.Floats(g2[1])), 1e-13)
	graphtest.ExpectClose(t, "dv", graphtest.Floats(g1[2]), sum(graphtest.Floats(g2[2])), 1e-13)
}

// TestFlashWindowLocality checks that with a causal window of W the outputs do not
// depend on keys and values W or more positions back (nor on later ones), and do on
// the W − 1 before.
func TestFlashWindowLocality(t *testing.T) {
	const T, W = 12, 4
	c := flashCase{B: 1, Tq: T, Tk: T, D: 2, Dv: 2, H: 1, KH: 1, causal: true, window: graph.SlidingWindow(W), bq: 3, bk: 5}
	g := G.NewGraph()
	f := c.build(t, g, tensor.Float64, 81)
	m := G.NewTapeMachine(g)
	defer m.Close()
	run := func() []float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return graphtest.Floats(f.out)
	}
	base := run()
	kv := [][]float64{f.k.Value().Data().([]float64), f.v.Value().Data().([]float64)}
	for j := 0; j < T; j++ { // change key and value j
		var saved [2][2]float64
		for n, x := range kv {
			saved[n] = [2]float64{x[2*j], x[2*j+1]}
			x[2*j] += 3
			x[2*j+1] -= 2
		}
		got := run()
		for n, x := range kv {
			x[2*j], x[2*j+1] = saved[n][0], saved[n][1]
		}
		for i := 0; i < T; i++ {
			same := got[2*i] == base[2*i] && got[2*i+1] == base[2*i+1]
			if inWindow := j <= i && i-j < W; inWindow == same {
				t.Errorf("query %d, key %d changed: output changed %v, want %v", i, j, !same, inWindow)
			}
		}
	}
}

// TestRoPERelative checks that after RoPE the dot product of a query row at position p
// and a key row at position p' depends only on p − p': shifting both by the same offset
// leaves every score unchanged, and shifting one changes them.
func TestRoPERelative(t *testing.T) {
	for _, style := range []graph.RoPEStyle{graph.RoPEInterleaved, graph.RoPEHalf} {
		t.Run(style.String(), func(t *testing.T) {
			const T, C, D = 6, 8, 4
			r := newRand(90)
			qd, kd := graphtest.Normals(r, T*C, 1), graphtest.Normals(r, T*C, 1)
			scores := func(qOff, kOff int) []float64 {
				g := G.NewGraph()
				q := graphtest.Input(g, tensor.Float64, "q", tensor.Shape{T, C}, qd)
				k := graphtest.Input(g, tensor.Float64, "k", tensor.Shape{T, C}, kd)
				rq := graphtest.Must(t)(graph.RoPE(q, graph.RoPEOpts{HeadDim: D, Style: style, Offset: qOff}))
				rk := graphtest.Must(t)(graph.RoPE(k, graph.RoPEOpts{HeadDim: D, Style: style, Offset: kOff}))
				s := graphtest.Must(t)(graph.Scores(rq, rk, C/D, 1))
				graphtest.RunGraph(t, g)
				return graphtest.Floats(s)
			}
			base := scores(0, 0)
			graphtest.ExpectClose(t, "scores shifted by 37", scores(37, 37), base, 1e-11)
			graphtest.ExpectClose(t, "scores shifted by 1000", scores(1000, 1000), base, 1e-10)
			if d, _ := graphtest.WorstDiff(scores(1, 0), base); d < 1e-3 {
				t.Errorf("shifting the queries alone changed the scores by only %g", d)
			}
			// No rotation at position 0: RoPE at offset 0 leaves row 0 alone.
			g := G.NewGraph()
			q := graphtest.Input(g, tensor.Float64, "q", tensor.Shape{T, C}, qd)
			rq := graphtest.Must(t)(graph.RoPE(q, graph.RoPEOpts{HeadDim: D, Style: style}))
			graphtest.RunGraph(t, g)
			graphtest.ExpectClose(t, "row 0", graphtest.Floats(rq)[:C], qd[:C], 0)
		})
	}
}

// TestRoPEPairs checks which dimensions each style rotates together, on a one-hot row.
func TestRoPEPairs(t *testing.T) {
	for _, c := range []struct {
		style   graph.RoPEStyle
		partner int // of dimension 1 in a head of width 4
	}{{graph.RoPEInterleaved, 0}, {graph.RoPEHalf, 3}} {
		g := G.NewGraph()
		x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{1, 4}, []float64{0, 1, 0, 0})
		y := graphtest.Must(t)(graph.RoPE(x, graph.RoPEOpts{HeadDim: 4, Theta: 16, Style: c.style, Offset: 1}))
		graphtest.RunGraph(t, g)
		got := graphtest.Floats(y)
		// Dimension 1 belongs to pair m = 0 (interleaved: (0, 1), angle 1) or m = 1
		// (half: (1, 3), angle 1·16^(−1/2) = 0.25).
		phi, sign := 1.0, -1.0 // interleaved: 1 is the second of its pair
		if c.style == graph.RoPEHalf {
			phi, sign = 0.25, 1
		}
		want := make([]float64, 4)
		want[1] = math.Cos(phi)
		want[c.partner] = sign * math.Sin(phi)
		graphtest.ExpectClose(t, c.style.String(), got, want, 1e-15)
	}
}

// TestALiBiSlopes checks ALiBiSlopes against the paper's get_slopes (Python, printed
// with repr) for powers of two and others.
func TestALiBiSlopes(t *testing.T) {
	want := map[int][]float64{
		1: {0.00390625},
		3: {0.0625, 0.00390625, 0.25},
		4: {0.25, 0.0625, 0.015625, 0.00390625},
		5: {0.25, 0.0625, 0.015625, 0.00390625, 0.5},
		6: {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125},
		12: {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
			0.7071067811865476, 0.35355339059327384, 0.17677669529663692, 0.08838834764831849},
	}
	for n, w := range want {
		got, err := graph.ALiBiSlopes(n)
		if err != nil {
			t.Fatal(err)
		}
		graphtest.ExpectClose(t, fmt.Sprintf("slopes(%d)", n), got, w, 1e-16)
	}
	if _, err := graph.ALiBiSlopes(0); err == nil {
		t.Error("ALiBiSlopes(0): no error")
	}
}

// TestFlashFullyBlocked checks that a query with every key blocked gets a zero output
// row and zero gradients, in a run where its neighbours do attend.
func TestFlashFullyBlocked(t *testing.T) {
	// Batch row 1 has no key at all (padding); query 1 of batch row 0 is fully masked.
	c := flashCase{B: 2, Tq: 3, Tk: 3, D: 2, Dv: 2, H: 2, KH: 1, mask: "batch", fullMask: true, padLens: []int{3, 0}, bq: 2, bk: 2}
	g := G.NewGraph()
	f := c.build(t, g, tensor.Float64, 61)
	w := graphtest.Must(t)(graph.FlashWeights(f.q, f.k, f.opts))
	r := graphtest.Input(g, tensor.Float64, "r", f.out.Shape(), graphtest.Normals(newRand(62), f.out.Shape().TotalSize(), 1))
	grads, err := G.Grad(graphtest.WeightedSum(t, f.out, r), f.q, f.k, f.v)
	if err != nil {
		t.Fatal(err)
	}
	graphtest.RunGraph(t, g)
	out, dq, dk := graphtest.Floats(f.out), graphtest.Floats(grads[0]), graphtest.Floats(grads[1])
	ww := graphtest.Floats(w)
	const rowQ, rowO = 4, 4                 // q and out rows are H·D = H·Dv = 4 wide
	for _, row := range []int{1, 3, 4, 5} { // (b0, i1) and every query of b1
		for d := 0; d < rowO; d++ {
			if out[row*rowO+d] != 0 || dq[row*rowQ+d] != 0 {
				t.Errorf("row %d: output %v, dq %v; want exactly 0", row, out[row*rowO:(row+1)*rowO], dq[row*rowQ:(row+1)*rowQ])
				break
			}
		}
	}
	for i := 3 * 2; i < 6*2; i++ { // k rows of batch row 1 (KH·D = 2 wide)
		if dk[i] != 0 {
			t.Errorf("dk of a padding key = %v, want 0", dk[i])
		}
	}
	for h := 0; h < 2; h++ {
		for j := 0; j < 3; j++ {
			if x := ww[((0*2+h)*3+1)*3+j]; x != 0 {
				t.Errorf("weight of the fully masked query = %v", x)
			}
		}
	}
	graphtest.ExpectFinite(t, "output", out)
	if out[0] == 0 && out[1] == 0 {
		t.Error("query 0 of batch row 0 attends but has a zero output")
	}
}

// TestFlashBadInput checks the errors of bad shapes and options.
func TestFlashBadInput(t *testing.T) {
	in := func(g *G.ExprGraph, name string, s ...int) *G.Node {
		return graphtest.Input(g, tensor.Float64, name, tensor.Shape(s), nil)
	}
	attn := func(qs, ks, vs []int, o func(g *G.ExprGraph) graph.FlashOpts) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			_, err := graph.FlashAttention(in(g, "q", qs...), in(g, "k", ks...), in(g, "v", vs...), o(g))
			return err
		}
	}
	none := func(*G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Heads: 2} }
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "q width not divisible by heads", Want: graph.ErrShape, Build: attn([]int{1, 3, 5}, []int{1, 3, 4}, []int{1, 3, 4}, none)},
		{Name: "kv heads do not divide heads", Want: graph.ErrShape, Build: attn([]int{1, 3, 8}, []int{1, 3, 12}, []int{1, 3, 12}, none)},
		{Name: "batch mismatch", Want: graph.ErrShape, Build: attn([]int{2, 3, 4}, []int{1, 3, 4}, []int{1, 3, 4}, none)},
		{Name: "v rows", Want: graph.ErrShape, Build: attn([]int{1, 3, 4}, []int{1, 3, 4}, []int{1, 2, 4}, none)},
		{Name: "dims", Want: graph.ErrShape, Build: attn([]int{1, 3, 4}, []int{3, 4}, []int{3, 4}, none)},
		{Name: "negative window", Want: graph.ErrArgument, Build: attn([]int{1, 3, 4}, []int{1, 3, 4}, []int{1, 3, 4},
			func(*G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Window: &graph.Window{Left: -1}} })},
		{Name: "alibi slopes count", Want: graph.ErrArgument, Build: attn([]int{1, 3, 4}, []int{1, 3, 4}, []int{1, 3, 4},
			func(*G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Heads: 2, ALiBi: []float64{1}} })},
		{Name: "bias shape", Want: graph.ErrShape, Build: attn([]int{2, 3, 4}, []int{2, 3, 4}, []int{2, 3, 4},
			func(g *G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Heads: 2, Bias: in(g, "b", 2, 3, 3, 3)} })},
		{Name: "mask shape", Want: graph.ErrShape, Build: attn([]int{2, 3, 4}, []int{2, 3, 4}, []int{2, 3, 4},
			func(g *G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Mask: in(g, "m", 3, 4)} })},
		{Name: "negative scale", Want: graph.ErrArgument, Build: attn([]int{1, 3, 4}, []int{1, 3, 4}, []int{1, 3, 4},
			func(*G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{Scale: -1} })},
		{Name: "negative block", Want: graph.ErrArgument, Build: attn([]int{1, 3, 4}, []int{1, 3, 4}, []int{1, 3, 4},
			func(*G.ExprGraph) graph.FlashOpts { return graph.FlashOpts{BlockQ: -2} })},
		{Name: "cache with mask", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			c, _ := graph.NewKVCache(1, 4)
			_, err := graph.FlashAttention(in(g, "q", 1, 2, 4), in(g, "k", 1, 2, 4), in(g, "v", 1, 2, 4),
				graph.FlashOpts{Cache: c, Mask: in(g, "m", 2, 2)})
			return err
		}},
		{Name: "cached weights with a mask", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			c, _ := graph.NewKVCache(1, 4)
			_, err := graph.FlashWeights(in(g, "q", 1, 2, 4), in(g, "k", 1, 2, 4), graph.FlashOpts{Cache: c, Mask: in(g, "m", 2, 2)})
			return err
		}},
		{Name: "cache batch", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			c, _ := graph.NewKVCache(2, 4)
			_, err := graph.FlashAttention(in(g, "q", 1, 2, 4), in(g, "k", 1, 2, 4), in(g, "v", 1, 2, 4), graph.FlashOpts{Cache: c})
			return err
		}},
		{Name: "rope odd head", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			_, err := graph.RoPE(in(g, "x", 1, 3, 6), graph.RoPEOpts{HeadDim: 3})
			return err
		}},
		{Name: "rope positions", Want: graph.ErrShape, Build: func(g *G.ExprGraph) error {
			_, err := graph.RoPE(in(g, "x", 1, 3, 4), graph.RoPEOpts{HeadDim: 4, Positions: []int{0, 1}})
			return err
		}},
	})
}

// TestFlashMemoryLinear checks that a forward and backward pass at T = 1024 keeps far
// less than one (T × T) matrix alive: the graph's heap after a run (inputs, outputs,
// gradients, log-sum-exp, scratch tiles) stays under a quarter of T²·4 bytes.
func TestFlashMemoryLinear(t *testing.T) {
	const T, C = 1024, 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := G.NewGraph()
	r := newRand(5)
	s := tensor.Shape{1, T, C}
	q := graphtest.Input(g, tensor.Float32, "q", s, graphtest.Normals(r, T*C, 1))
	k := graphtest.Input(g, tensor.Float32, "k", s, graphtest.Normals(r, T*C, 1))
	v := graphtest.Input(g, tensor.Float32, "v", s, graphtest.Normals(r, T*C, 1))
	out := graphtest.Must(t)(graph.FlashAttention(q, k, v, graph.FlashOpts{Heads: 1, Causal: true}))
	w := graphtest.Input(g, tensor.Float32, "w", s, graphtest.Normals(r, T*C, 1))
	if _, err := G.Grad(graphtest.WeightedSum(t, out, w), q, k, v); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap after a step at T = %d: %.0f KiB (one T×T float32 matrix: %d KiB)", T, float64(live)/1024, T*T*4/1024)
	if live > T*T*4/4 {
		t.Errorf("live heap %d bytes after a step; want < %d", live, T*T*4/4)
	}
	runtime.KeepAlive(m)
}

// TestFlashExtremeScores checks that scores of ±1e4 give finite outputs whose weights
// sum to 1, in float32 and float64 (the online softmax subtracts the running maximum).
func TestFlashExtremeScores(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		c := flashCase{B: 1, Tq: 9, Tk: 9, D: 2, Dv: 2, H: 1, KH: 1, causal: true, scale: 1e4, bq: 2, bk: 2}
		g := G.NewGraph()
		f := c.build(t, g, dt, 11)
		wn := graphtest.Must(t)(graph.FlashWeights(f.q, f.k, f.opts))
		graphtest.RunGraph(t, g)
		out := graphtest.Floats(f.out)
		graphtest.ExpectFinite(t, "output", out)
		ww := graphtest.Floats(wn)
		for i := 0; i < c.Tq; i++ {
			sum := 0.0
			for _, x := range ww[i*c.Tk : (i+1)*c.Tk] {
				sum += x
			}
			if math.Abs(sum-1) > 1e-6 {
				t.Errorf("%v: weights of query %d sum to %v", dt, i, sum)
			}
		}
		if dt == tensor.Float64 {
			want, _ := refFlash(c, f)
			graphtest.ExpectClose(t, "output", out, want, 1e-12)
		}
	}
}

// TestFlashCachedDecoding checks FlashAttention, FlashWeights and RoPE with a KVCache: a
// prompt of 4 positions, then one position at a time, give the rows of the same
// attention over the whole sequence at once (GQA, causal, window, ALiBi, RoPE), in
// float64 within 1e-12; the cached weights are the full ones, zero in the cache's
// columns past the sequence.
func TestFlashCachedDecoding(t *testing.T) {
	const B, T, P, H, KH, D = 2, 7, 4, 4, 2, 2
	r := newRand(44)
	qd, kd, vd := graphtest.Normals(r, B*T*H*D, 1), graphtest.Normals(r, B*T*KH*D, 1), graphtest.Normals(r, B*T*KH*D, 1)
	rows := func(x []float64, w, from, to int) []float64 { // rows from … to−1 of every batch row
		var out []float64
		for b := 0; b < B; b++ {
			out = append(out, x[(b*T+from)*w:(b*T+to)*w]...)
		}
		return out
	}
	slopes, _ := graph.ALiBiSlopes(H)
	opts := graph.FlashOpts{Heads: H, Causal: true, Window: graph.SlidingWindow(3), ALiBi: slopes, BlockQ: 2, BlockK: 2}
	var weights *G.Node // of the last attend
	attend := func(g *G.ExprGraph, n int, from int, c *graph.KVCache) (q, k, v, out *G.Node) {
		q = graphtest.Input(g, tensor.Float64, "q", tensor.Shape{B, n, H * D}, rows(qd, H*D, from, from+n))
		k = graphtest.Input(g, tensor.Float64, "k", tensor.Shape{B, n, KH * D}, rows(kd, KH*D, from, from+n))
		v = graphtest.Input(g, tensor.Float64, "v", tensor.Shape{B, n, KH * D}, rows(vd, KH*D, from, from+n))
		ro := graph.RoPEOpts{HeadDim: D, Theta: 100, Cache: c}
		rq := graphtest.Must(t)(graph.RoPE(q, ro))
		rk := graphtest.Must(t)(graph.RoPE(k, ro))
		o := opts
		o.Cache = c
		weights = graphtest.Must(t)(graph.FlashWeights(rq, rk, o))
		return q, k, v, graphtest.Must(t)(graph.FlashAttention(rq, rk, v, o))
	}
	g := G.NewGraph()
	_, _, _, full := attend(g, T, 0, nil)
	graphtest.RunGraph(t, g)
	want, wantW := graphtest.Floats(full), graphtest.Floats(weights)
	const capacity = 8
	// cachedW is rows from … to−1 of the full weights, T columns padded to capacity.
	cachedW := func(from, to int) []float64 {
		var out []float64
		for bh := 0; bh < B*H; bh++ {
			for i := from; i < to; i++ {
				out = append(out, wantW[(bh*T+i)*T:(bh*T+i+1)*T]...)
				out = append(out, make([]float64, capacity-T)...)
			}
		}
		return out
	}

	c, err := graph.NewKVCache(B, capacity)
	if err != nil {
		t.Fatal(err)
	}
	gp := G.NewGraph()
	_, _, _, prompt := attend(gp, P, 0, c)
	graphtest.RunGraph(t, gp)
	graphtest.ExpectClose(t, "prompt", graphtest.Floats(prompt), rows(want, H*D, 0, P), 1e-12)
	graphtest.ExpectClose(t, "prompt weights", graphtest.Floats(weights), cachedW(0, P), 1e-12)
	if err := c.Advance(P); err != nil {
		t.Fatal(err)
	}
	g1 := G.NewGraph()
	q1, k1, v1, step := attend(g1, 1, P, c)
	m := G.NewTapeMachine(g1)
	defer m.Close()
	for pos := P; pos < T; pos++ {
		for _, in := range []struct {
			n    *G.Node
			data []float64
			w    int
		}{{q1, qd, H * D}, {k1, kd, KH * D}, {v1, vd, KH * D}} {
			if err := G.Let(in.n, graphtest.DenseOf(tensor.Float64, tensor.Shape{B, 1, in.w}, rows(in.data, in.w, pos, pos+1))); err != nil {
				t.Fatal(err)
			}
		}
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		graphtest.ExpectClose(t, fmt.Sprintf("position %d", pos), graphtest.Floats(step), rows(want, H*D, pos, pos+1), 1e-12)
		graphtest.ExpectClose(t, fmt.Sprintf("position %d weights", pos), graphtest.Floats(weights), cachedW(pos, pos+1), 1e-12)
		if err := c.Advance(1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFlashThreadsAgree checks that the parallel passes (tasks over batch rows, heads and
// query blocks forward; over batch rows and kv heads, or fewer when a bias is shared,
// backward) give the results of one thread, bias gradient included. Run with -race.
func TestFlashThreadsAgree(t *testing.T) {
	for _, bias := range [][2]int{{1, 4}, {3, 1}, {3, 4}} {
		c := flashCase{name: "par", B: 3, Tq: 48, Tk: 48, D: 8, Dv: 8, H: 4, KH: 2, causal: true, bias: bias, bq: 7, bk: 5}
		run := func(threads int) [][]float64 {
			defer par.SetThreads(par.SetThreads(threads))
			g := G.NewGraph()
			f := c.build(t, g, tensor.Float64, 3)
			r := graphtest.Input(g, tensor.Float64, "r", f.out.Shape(), graphtest.Normals(newRand(4), f.out.Shape().TotalSize(), 1))
			grads, err := G.Grad(graphtest.WeightedSum(t, f.out, r), f.q, f.k, f.v, f.bias)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			res := [][]float64{graphtest.Floats(f.out)}
			for _, gn := range grads {
				res = append(res, graphtest.Floats(gn))
			}
			return res
		}
		one, all := run(1), run(0)
		for i, name := range []string{"out", "dq", "dk", "dv", "dbias"} {
			graphtest.ExpectClose(t, fmt.Sprintf("bias %v: %s", bias, name), all[i], one[i], 1e-12)
		}
	}
}

// TestFlashTriangularExact checks that the float32 tiles give the same output and
// gradients when their products skip what the causal rule or a window's right edge
// leaves out (sgemm.GemmSerialTri) as when they compute everything: bit for bit, up to
// the sign of a zero. At the nanoGPT shape (one 64 × 64 tile per head) and at tiles
// that cut the diagonal in every way (decoding offsets, windows, bq ≠ bk, partial
// tiles).
func TestFlashTriangularExact(t *testing.T) {
	cases := []flashCase{
		{name: "nanogpt-tile", B: 2, Tq: 64, Tk: 64, D: 32, Dv: 32, H: 2, KH: 2, causal: true},
		{name: "partial-tiles", B: 1, Tq: 70, Tk: 70, D: 8, Dv: 12, H: 2, KH: 1, causal: true, bq: 32, bk: 24},
		{name: "decode-offset", B: 2, Tq: 20, Tk: 45, D: 8, Dv: 8, H: 2, KH: 2, causal: true, bq: 16, bk: 16},
		{name: "window-causal", B: 1, Tq: 50, Tk: 50, D: 8, Dv: 8, H: 2, KH: 2, causal: true, window: graph.SlidingWindow(9), bq: 16, bk: 32},
		{name: "window-two-sided", B: 1, Tq: 40, Tk: 40, D: 8, Dv: 8, H: 2, KH: 2, window: &graph.Window{Left: 3, Right: 11}, bq: 24, bk: 16},
		{name: "all-combined", B: 2, Tq: 30, Tk: 36, D: 8, Dv: 8, H: 4, KH: 2, causal: true, window: graph.SlidingWindow(13),
			alibi: true, bias: [2]int{1, 4}, mask: "batch", padLens: []int{36, 30}, scale: 0.9, bq: 12, bk: 18},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(tri bool) [][]float32 {
				defer graph.SetFlashTri(tri)()
				g := G.NewGraph()
				f := c.build(t, g, tensor.Float32, 5)
				r := graphtest.Input(g, tensor.Float32, "r", f.out.Shape(), graphtest.Normals(newRand(6), f.out.Shape().TotalSize(), 1))
				nodes := []*G.Node{f.q, f.k, f.v}
				if f.bias != nil {
					nodes = append(nodes, f.bias)
				}
				grads, err := G.Grad(graphtest.WeightedSum(t, f.out, r), nodes...)
				if err != nil {
					t.Fatal(err)
				}
				graphtest.RunGraph(t, g)
				res := [][]float32{append([]float32(nil), f.out.Value().Data().([]float32)...)}
				for _, gn := range grads {
					res = append(res, append([]float32(nil), gn.Value().Data().([]float32)...))
				}
				return res
			}
			full, tri := run(false), run(true)
			for i, name := range []string{"out", "dq", "dk", "dv", "dbias"}[:len(full)] {
				for j := range full[i] {
					a, b := full[i][j], tri[i][j]
					if math.Float32bits(a) != math.Float32bits(b) && !(a == 0 && b == 0) {
						t.Fatalf("%s[%d]: %v (%#x) computing everything, %v (%#x) skipping", name, j, a, math.Float32bits(a), b, math.Float32bits(b))
					}
				}
			}
		})
	}
}
