package layers_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// saCase is one SelfAttention configuration with its inputs: x is (B, Tq, DModel), or
// (Tq, DModel) when b = 0; a Cross layer's context is (B, Tk, DCross).
type saCase struct {
	name     string
	cfg      layers.AttentionConfig
	b        int    // batch; 0 for 2-D inputs
	tq, tk   int    // tk only for Cross (else = tq)
	mask     string // "", "shared" (Tq, Tk) or "batch" (B, Tq, Tk)
	padLens  []int  // key lengths per batch row; nil for no key padding
	fullMask bool   // the mask blocks every key of query 1 of batch row 0
}

func saCases() []saCase {
	type C = layers.AttentionConfig
	return []saCase{
		{name: "plain", cfg: C{DModel: 4}, b: 2, tq: 3},
		{name: "causal", cfg: C{DModel: 4, Causal: true}, b: 2, tq: 4},
		{name: "mask/shared", cfg: C{DModel: 4}, b: 2, tq: 4, mask: "shared"},
		{name: "mask/per-batch", cfg: C{DModel: 4}, b: 2, tq: 4, mask: "batch"},
		{name: "key-padding", cfg: C{DModel: 4}, b: 2, tq: 4, padLens: []int{2, 4}},
		{name: "heads-2", cfg: C{DModel: 4, Heads: 2}, b: 2, tq: 3},
		{name: "heads-4", cfg: C{DModel: 8, Heads: 4}, b: 2, tq: 3},
		{name: "cross", cfg: C{DModel: 4, Cross: true, DCross: 3}, b: 2, tq: 3, tk: 5},
		{name: "cross/heads-2/causal/key-padding", cfg: C{DModel: 4, Heads: 2, Cross: true, DCross: 6, Causal: true}, b: 2, tq: 2, tk: 4, padLens: []int{4, 3}},
		{name: "out-proj", cfg: C{DModel: 4, OutProj: true}, b: 2, tq: 3},
		{name: "out-proj/bias", cfg: C{DModel: 4, OutProj: true, Bias: true}, b: 2, tq: 3},
		{name: "bias", cfg: C{DModel: 4, Bias: true}, b: 2, tq: 3},
		{name: "dvalue-6", cfg: C{DModel: 4, Heads: 2, DValue: 6}, b: 2, tq: 3},
		{name: "dvalue-6/out-proj/bias", cfg: C{DModel: 4, Heads: 2, DValue: 6, OutProj: true, Bias: true}, b: 2, tq: 3},
		{name: "dkey-6", cfg: C{DModel: 4, Heads: 2, DKey: 6}, b: 2, tq: 3},
		{name: "dkey-2/dvalue-8", cfg: C{DModel: 4, Heads: 2, DKey: 2, DValue: 8, OutProj: true}, b: 1, tq: 4},
		{name: "scale-0.35", cfg: C{DModel: 4, Heads: 2, Scale: 0.35}, b: 2, tq: 3},
		{name: "2d", cfg: C{DModel: 4, Heads: 2, OutProj: true, Bias: true}, tq: 4},
		{name: "2d/causal", cfg: C{DModel: 4, Causal: true}, tq: 4},
		{name: "2d/cross/key-padding/mask", cfg: C{DModel: 4, Cross: true, DCross: 2, Bias: true}, tq: 3, tk: 4, padLens: []int{3}, mask: "shared"},
		{name: "everything/fully-masked-query", cfg: C{DModel: 4, Heads: 2, DKey: 6, DValue: 2, Causal: true, OutProj: true, Bias: true, Scale: 0.8},
			b: 2, tq: 4, mask: "batch", padLens: []int{3, 4}, fullMask: true},
	}
}

// saGraph is a saCase built in a graph.
type saGraph struct {
	att            *layers.SelfAttention
	x, ctx         *G.Node // ctx nil unless Cross
	mask, pad      *G.Node
	out, weights   *G.Node
	blocked        func(b, i, j int) bool
	batch, tq, tk  int
	inputsAndLearn G.Nodes // x, ctx and every learnable: what gradients are checked against
}

// seq is (b, t, c), or (t, c) for b = 0.
func seq(b, t, c int) tensor.Shape {
	if b == 0 {
		return tensor.Shape{t, c}
	}
	return tensor.Shape{b, t, c}
}

// build makes the layer (weights N(0, 0.7²), random biases) and its inputs in g, and
// applies it.
func (c saCase) build(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, seed uint64) *saGraph {
	t.Helper()
	r := newRand(seed)
	att, err := layers.NewSelfAttention(g, "attn", c.cfg, layers.WithDtype(dt), layers.WithSeed(seed), layers.WithInit(layers.Normal(0.7)))
	if err != nil {
		t.Fatal(err)
	}
	for _, bn := range []*G.Node{att.Bq, att.Bk, att.Bv, att.Bo} {
		if bn != nil {
			graphtest.SetRandom(t, r, 0.5, bn)
		}
	}
	a := &saGraph{att: att, batch: max(c.b, 1), tq: c.tq, tk: c.tq}
	d := att.Config
	a.x = graphtest.Input(g, dt, "x", seq(c.b, c.tq, d.DModel), graphtest.Normals(r, max(c.b, 1)*c.tq*d.DModel, 1))
	a.inputsAndLearn = G.Nodes{a.x}
	in := layers.AttendInputs{}
	if c.cfg.Cross {
		a.tk = c.tk
		a.ctx = graphtest.Input(g, dt, "context", seq(c.b, c.tk, d.DCross), graphtest.Normals(r, max(c.b, 1)*c.tk*d.DCross, 1))
		a.inputsAndLearn = append(a.inputsAndLearn, a.ctx)
		in.Context = a.ctx
	}
	a.inputsAndLearn = append(a.inputsAndLearn, att.Learnables()...)
	var mask, pad []bool
	a.mask, mask = graphtest.RandomMask(t, g, dt, r, c.mask, a.batch, a.tq, a.tk, c.fullMask)
	if c.padLens != nil {
		if pad, err = graph.KeyPaddingMask(c.padLens, a.tk); err != nil {
			t.Fatal(err)
		}
		a.pad = graphtest.MaskInput(t, g, dt, "pad", tensor.Shape{a.batch, a.tk}, pad)
	}
	in.Mask, in.KeyPadding = a.mask, a.pad
	perBatch := c.mask == "batch"
	a.blocked = graphtest.Blocked(c.cfg.Causal, mask, perBatch, pad, a.tq, a.tk)
	if left, right, ok := refWindow(d); ok {
		blocked, off := a.blocked, a.tk-a.tq
		a.blocked = func(b, i, j int) bool {
			return blocked(b, i, j) || j < i+off-left || j > i+off+right
		}
	}
	if a.out, a.weights, err = att.Attend(a.x, in); err != nil {
		t.Fatal(err)
	}
	return a
}

// reference computes the layer's output and weights with plain loops from the values in
// the graph (after it ran).
func (a *saGraph) reference() (out, weights []float64) {
	c := a.att.Config
	vals := func(n *G.Node) []float64 {
		if n == nil {
			return nil
		}
		return graphtest.Floats(n)
	}
	x := graphtest.Floats(a.x)
	y, dy := x, c.DModel
	if a.ctx != nil {
		y, dy = graphtest.Floats(a.ctx), c.DCross
	}
	B, tq, tk, H, KH := a.batch, a.tq, a.tk, c.Heads, c.KVHeads
	wk, wv := c.DKey/H, c.DValue/H
	ck, cv := KH*wk, KH*wv // widths of k and v
	q := refAffine(x, B*tq, c.DModel, c.DKey, vals(a.att.Wq), vals(a.att.Bq))
	k := refAffine(y, B*tk, dy, ck, vals(a.att.Wk), vals(a.att.Bk))
	v := refAffine(y, B*tk, dy, cv, vals(a.att.Wv), vals(a.att.Bv))
	if r := c.RoPE; r != nil {
		refRoPE(q, B, tq, c.DKey, wk, tk-tq, r)
		refRoPE(k, B, tk, ck, wk, 0, r)
	}
	scale := c.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(wk))
	}
	out = make([]float64, B*tq*c.DValue)
	weights = make([]float64, B*H*tq*tk)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			g := h / (H / KH) // the key/value head
			slope := 0.0
			if c.ALiBi { // the paper's slopes for a power of two heads
				slope = math.Pow(2, -8*float64(h+1)/float64(H))
			}
			for i := 0; i < tq; i++ {
				p := weights[((b*H+h)*tq+i)*tk:][:tk]
				mx := math.Inf(-1)
				for j := range p {
					for e := 0; e < wk; e++ {
						p[j] += q[(b*tq+i)*c.DKey+h*wk+e] * k[(b*tk+j)*ck+g*wk+e]
					}
					p[j] *= scale
					p[j] -= slope * math.Abs(float64(i+tk-tq-j))
					if !a.blocked(b, i, j) {
						mx = math.Max(mx, p[j])
					}
				}
				sum := 0.0
				for j := range p {
					if a.blocked(b, i, j) {
						p[j] = 0
						continue
					}
					p[j] = math.Exp(p[j] - mx)
					sum += p[j]
				}
				for j := range p {
					if sum > 0 {
						p[j] /= sum
					}
					for e := 0; e < wv; e++ {
						out[(b*tq+i)*c.DValue+h*wv+e] += p[j] * v[(b*tk+j)*cv+g*wv+e]
					}
				}
			}
		}
	}
	if a.att.Wo != nil {
		out = refAffine(out, B*tq, c.DValue, c.DModel, vals(a.att.Wo), vals(a.att.Bo))
	}
	return out, weights
}

// refWindow is the window of a configuration: the keys p − left … p + right of the
// query at p; ok false without one.
func refWindow(c layers.AttentionConfig) (left, right int, ok bool) {
	switch {
	case c.Window > 0:
		return c.Window - 1, c.Window - 1, true
	case c.WindowLeft > 0 || c.WindowRight > 0:
		return c.WindowLeft, c.WindowRight, true
	}
	return 0, 0, false
}

// refRoPE rotates, in place, every head block (width d) of the rows of x (B × T rows of
// width c), row t being at position off + t, as RoFormer defines it: pairs (2m, 2m+1)
// (interleaved) or (m, m + d/2) (half), angle p·θ^(−2m/d).
func refRoPE(x []float64, B, T, c, d, off int, r *layers.RoPEConfig) {
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			p := float64(off + t)
			for h := 0; h < c; h += d {
				row := x[(b*T+t)*c+h:][:d]
				for m := 0; m < d/2; m++ {
					i, j := 2*m, 2*m+1
					if r.Style == "half" {
						i, j = m, m+d/2
					}
					phi := p * math.Pow(r.Theta, -2*float64(m)/float64(d))
					u, w := row[i], row[j]
					row[i] = u*math.Cos(phi) - w*math.Sin(phi)
					row[j] = u*math.Sin(phi) + w*math.Cos(phi)
				}
			}
		}
	}
}

// saVariantCases are the configurations with grouped-query attention, rotary
// positions, ALiBi and windows: position-dependent, so not for the tests of
// permutation equivariance.
func saVariantCases() []saCase {
	type C = layers.AttentionConfig
	type R = layers.RoPEConfig
	return []saCase{
		{name: "gqa-4/2", cfg: C{DModel: 8, Heads: 4, KVHeads: 2}, b: 2, tq: 5},
		{name: "mqa-4/1/causal/bias/out-proj", cfg: C{DModel: 8, Heads: 4, KVHeads: 1, Causal: true, Bias: true, OutProj: true}, b: 2, tq: 5},
		{name: "gqa-4/2/dkey-4/dvalue-12", cfg: C{DModel: 6, Heads: 4, KVHeads: 2, DKey: 8, DValue: 12}, b: 1, tq: 4},
		{name: "rope-interleaved", cfg: C{DModel: 8, Heads: 2, RoPE: &R{}}, b: 2, tq: 5},
		{name: "rope-half/causal", cfg: C{DModel: 8, Heads: 2, Causal: true, RoPE: &R{Style: "half", Theta: 100}}, b: 2, tq: 5},
		{name: "rope-half/cross", cfg: C{DModel: 8, Heads: 2, Cross: true, DCross: 4, RoPE: &R{Style: "half", Theta: 50}}, b: 2, tq: 3, tk: 5},
		{name: "alibi", cfg: C{DModel: 8, Heads: 4, ALiBi: true}, b: 2, tq: 5},
		{name: "alibi/causal/key-padding", cfg: C{DModel: 8, Heads: 2, ALiBi: true, Causal: true}, b: 2, tq: 5, padLens: []int{5, 3}},
		{name: "window-2/causal", cfg: C{DModel: 4, Heads: 2, Window: 2, Causal: true}, b: 2, tq: 6},
		{name: "window-3", cfg: C{DModel: 4, Window: 3}, b: 2, tq: 6},
		{name: "window-1/2", cfg: C{DModel: 4, Heads: 2, WindowLeft: 1, WindowRight: 2}, b: 2, tq: 6},
		{name: "window-0/2/2d", cfg: C{DModel: 4, WindowRight: 2}, tq: 5},
		{name: "everything", cfg: C{DModel: 8, Heads: 4, KVHeads: 2, RoPE: &R{Style: "half"}, ALiBi: true, Window: 3, Causal: true, Bias: true, OutProj: true, Scale: 0.6},
			b: 2, tq: 6, mask: "batch", padLens: []int{6, 4}},
		{name: "everything/2d/interleaved", cfg: C{DModel: 8, Heads: 2, KVHeads: 1, RoPE: &R{Theta: 500}, ALiBi: true, WindowLeft: 2, WindowRight: 1, Bias: true}, tq: 5},
	}
}

// TestSelfAttentionMatchesReference checks every configuration's output, weights and
// their shapes against a plain-loop reference, in float64 and float32.
func TestSelfAttentionMatchesReference(t *testing.T) {
	for i, c := range append(saCases(), saVariantCases()...) {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", c.name, dt), func(t *testing.T) {
				g := G.NewGraph()
				a := c.build(t, g, dt, uint64(100+i))
				cfg := a.att.Config
				dOut := cfg.DValue
				if cfg.OutProj {
					dOut = cfg.DModel
				}
				if want := seq(c.b, c.tq, dOut); !a.out.Shape().Eq(want) || a.out.Dtype() != dt {
					t.Errorf("output is %v %v, want %v %v", a.out.Dtype(), a.out.Shape(), dt, want)
				}
				if want := (tensor.Shape{a.batch, cfg.Heads, a.tq, a.tk}); !a.weights.Shape().Eq(want) {
					t.Errorf("weights are %v, want %v", a.weights.Shape(), want)
				}
				graphtest.RunGraph(t, g)
				wantOut, wantW := a.reference()
				tol := 1e-12
				if dt == tensor.Float32 {
					tol = 2e-5
				}
				graphtest.ExpectClose(t, "weights", graphtest.Floats(a.weights), wantW, tol)
				graphtest.ExpectClose(t, "output", graphtest.Floats(a.out), wantOut, tol)
			})
		}
	}
}

// TestSelfAttentionGradCheck checks the gradient of Σ out ⊙ r with respect to x, the
// context and every learnable, for every configuration.
func TestSelfAttentionGradCheck(t *testing.T) {
	for i, c := range append(saCases(), saVariantCases()...) {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			a := c.build(t, g, tensor.Float64, uint64(200+i))
			graphtest.CheckGrads(t, randomCost(t, g, a.out, "r", uint64(300+i)), a.inputsAndLearn)
		})
	}
}

// TestSelfAttentionLearnables checks the learnables' names, shapes and order, the
// defaults filled into Config, and the default initialisation (zero biases, weights in
// ±1/√in).
func TestSelfAttentionLearnables(t *testing.T) {
	type want struct {
		name  string
		shape tensor.Shape
	}
	for _, c := range []struct {
		name string
		cfg  layers.AttentionConfig
		want []want
	}{
		{"minimal", layers.AttentionConfig{DModel: 4}, []want{
			{"a.wq", tensor.Shape{4, 4}}, {"a.wk", tensor.Shape{4, 4}}, {"a.wv", tensor.Shape{4, 4}}}},
		{"bias without out-proj", layers.AttentionConfig{DModel: 4, Bias: true}, []want{
			{"a.wq", tensor.Shape{4, 4}}, {"a.wk", tensor.Shape{4, 4}}, {"a.wv", tensor.Shape{4, 4}},
			{"a.bq", tensor.Shape{4}}, {"a.bk", tensor.Shape{4}}, {"a.bv", tensor.Shape{4}}}},
		{"everything", layers.AttentionConfig{DModel: 4, Heads: 2, DKey: 6, DValue: 8, Cross: true, DCross: 3, OutProj: true, Bias: true}, []want{
			{"a.wq", tensor.Shape{4, 6}}, {"a.wk", tensor.Shape{3, 6}}, {"a.wv", tensor.Shape{3, 8}}, {"a.wo", tensor.Shape{8, 4}},
			{"a.bq", tensor.Shape{6}}, {"a.bk", tensor.Shape{6}}, {"a.bv", tensor.Shape{8}}, {"a.bo", tensor.Shape{4}}}},
		{"grouped-query", layers.AttentionConfig{DModel: 4, Heads: 4, KVHeads: 2, DKey: 8, DValue: 12, Cross: true, DCross: 3, OutProj: true, Bias: true, RoPE: &layers.RoPEConfig{}, ALiBi: true, Window: 2}, []want{
			{"a.wq", tensor.Shape{4, 8}}, {"a.wk", tensor.Shape{3, 4}}, {"a.wv", tensor.Shape{3, 6}}, {"a.wo", tensor.Shape{12, 4}},
			{"a.bq", tensor.Shape{8}}, {"a.bk", tensor.Shape{4}}, {"a.bv", tensor.Shape{6}}, {"a.bo", tensor.Shape{4}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			att, err := layers.NewSelfAttention(G.NewGraph(), "a", c.cfg, layers.WithDtype(tensor.Float64))
			if err != nil {
				t.Fatal(err)
			}
			ls := att.Learnables()
			if len(ls) != len(c.want) {
				t.Fatalf("%d learnables %v; want %d", len(ls), ls, len(c.want))
			}
			for i, n := range ls {
				if n.Name() != c.want[i].name || !n.Shape().Eq(c.want[i].shape) {
					t.Errorf("learnable %d is %q %v; want %q %v", i, n.Name(), n.Shape(), c.want[i].name, c.want[i].shape)
				}
				v := graphtest.Floats(n)
				if n.Dims() == 1 {
					graphtest.ExpectClose(t, n.Name(), v, make([]float64, len(v)), 0)
					continue
				}
				bound := 1 / math.Sqrt(float64(n.Shape()[0]))
				for _, x := range v {
					if math.Abs(x) > bound {
						t.Errorf("%s has %v outside ±1/√%d", n.Name(), x, n.Shape()[0])
						break
					}
				}
			}
			d := att.Config
			if d.Heads < 1 || d.DKey < 1 || d.DValue < 1 || d.DCross < 1 {
				t.Errorf("Config %+v has unfilled defaults", d)
			}
		})
	}
}

// TestForwardIsAttend checks that Forward is Attend without inputs.
func TestForwardIsAttend(t *testing.T) {
	g := G.NewGraph()
	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: 4, Heads: 2, Causal: true, OutProj: true}, layers.WithDtype(tensor.Float64))
	if err != nil {
		t.Fatal(err)
	}
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3, 4}, graphtest.Normals(newRand(1), 24, 1))
	y1 := graphtest.Must(t)(att.Forward(x))
	y2, _, err := att.Attend(x, layers.AttendInputs{})
	if err != nil {
		t.Fatal(err)
	}
	graphtest.RunGraph(t, g)
	graphtest.ExpectClose(t, "Forward", graphtest.Floats(y1), graphtest.Floats(y2), 0)
}

// ---- properties ----

// TestCausality: in a causal layer, output row i depends on x rows ≤ i only. Changing x
// at position j leaves every output row before j bit for bit unchanged, and the gradient
// of Σ_{i<j} r_i·out_i with respect to x at positions ≥ j is exactly zero.
func TestCausality(t *testing.T) {
	const B, T, D = 2, 5, 4
	cfg := layers.AttentionConfig{DModel: D, Heads: 2, Causal: true, OutProj: true, Bias: true}
	for j := 1; j < T; j++ {
		t.Run(fmt.Sprintf("j=%d", j), func(t *testing.T) {
			r := newRand(uint64(400 + j))
			g := G.NewGraph()
			att, err := layers.NewSelfAttention(g, "attn", cfg, layers.WithDtype(tensor.Float64), layers.WithInit(layers.Normal(0.7)))
			if err != nil {
				t.Fatal(err)
			}
			graphtest.SetRandom(t, r, 0.5, att.Bq, att.Bk, att.Bv, att.Bo)
			xs := graphtest.Normals(r, B*T*D, 1)
			x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{B, T, D}, xs)
			out := graphtest.Must(t)(att.Forward(x))
			// r is random on the rows before j, zero from j on.
			rs := graphtest.Normals(r, B*T*D, 1)
			for b := 0; b < B; b++ {
				clear(rs[(b*T+j)*D : (b+1)*T*D])
			}
			rn := graphtest.Input(g, tensor.Float64, "r", tensor.Shape{B, T, D}, rs)
			grads, err := G.Grad(graphtest.WeightedSum(t, out, rn), x)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			before, dx := graphtest.Floats(out), graphtest.Floats(grads[0])
			for b := 0; b < B; b++ {
				for i := 0; i < T; i++ {
					row := dx[(b*T+i)*D : (b*T+i+1)*D]
					allZero := row[0] == 0 && row[1] == 0 && row[2] == 0 && row[3] == 0
					if i >= j && !allZero {
						t.Errorf("gradient at x[%d, %d] = %v; want exactly 0", b, i, row)
					}
					if i < j && allZero {
						t.Errorf("gradient at x[%d, %d] is 0; want the cost to depend on it", b, i)
					}
				}
			}
			// Change x at position j (1e3 times larger, so any leak would show), run again.
			changed := append([]float64(nil), xs...)
			for b := 0; b < B; b++ {
				copy(changed[(b*T+j)*D:(b*T+j+1)*D], graphtest.Normals(r, D, 1e3))
			}
			if err := G.Let(x, graphtest.DenseOf(tensor.Float64, tensor.Shape{B, T, D}, changed)); err != nil {
				t.Fatal(err)
			}
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			after := graphtest.Floats(out)
			for b := 0; b < B; b++ {
				for i := 0; i < T; i++ {
					lo, hi := (b*T+i)*D, (b*T+i+1)*D
					same := true
					for e := lo; e < hi; e++ {
						same = same && math.Float64bits(before[e]) == math.Float64bits(after[e])
					}
					if i < j && !same {
						t.Errorf("output row [%d, %d] changed from %v to %v when x[%d, %d] changed", b, i, before[lo:hi], after[lo:hi], b, j)
					}
					if i == j && same {
						t.Errorf("output row [%d, %d] did not change with x[%d, %d]", b, i, b, j)
					}
				}
			}
		})
	}
}

// TestPermutationEquivariance: without a causal flag or mask, permuting the tokens of x
// (and the key padding with them) permutes the output rows and the weights the same way.
func TestPermutationEquivariance(t *testing.T) {
	const B, T, D = 2, 5, 4
	for _, c := range []struct {
		name string
		cfg  layers.AttentionConfig
		pad  bool
	}{
		{"1 head", layers.AttentionConfig{DModel: D}, false},
		{"2 heads, out-proj, bias", layers.AttentionConfig{DModel: D, Heads: 2, OutProj: true, Bias: true}, false},
		{"2 heads, key padding permuted too", layers.AttentionConfig{DModel: D, Heads: 2, OutProj: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(500)
			g := G.NewGraph()
			att, err := layers.NewSelfAttention(g, "attn", c.cfg, layers.WithDtype(tensor.Float64), layers.WithInit(layers.Normal(0.7)))
			if err != nil {
				t.Fatal(err)
			}
			if c.cfg.Bias {
				graphtest.SetRandom(t, r, 0.5, att.Bq, att.Bk, att.Bv, att.Bo)
			}
			perm := r.Perm(T) // new position i holds old token perm[i]
			xs := graphtest.Normals(r, B*T*D, 1)
			px := make([]float64, len(xs))
			for b := 0; b < B; b++ {
				for i := 0; i < T; i++ {
					copy(px[(b*T+i)*D:(b*T+i+1)*D], xs[(b*T+perm[i])*D:])
				}
			}
			x1 := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{B, T, D}, xs)
			x2 := graphtest.Input(g, tensor.Float64, "x.permuted", tensor.Shape{B, T, D}, px)
			var in1, in2 layers.AttendInputs
			if c.pad {
				pad, err := graph.KeyPaddingMask([]int{3, 5}, T)
				if err != nil {
					t.Fatal(err)
				}
				ppad := make([]bool, len(pad))
				for b := 0; b < B; b++ {
					for i := 0; i < T; i++ {
						ppad[b*T+i] = pad[b*T+perm[i]]
					}
				}
				in1.KeyPadding = graphtest.MaskInput(t, g, tensor.Float64, "pad", tensor.Shape{B, T}, pad)
				in2.KeyPadding = graphtest.MaskInput(t, g, tensor.Float64, "pad.permuted", tensor.Shape{B, T}, ppad)
			}
			o1, w1, err := att.Attend(x1, in1)
			if err != nil {
				t.Fatal(err)
			}
			o2, w2, err := att.Attend(x2, in2)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			out1, out2 := graphtest.Floats(o1), graphtest.Floats(o2)
			want := make([]float64, len(out1))
			dOut := o1.Shape()[2]
			for b := 0; b < B; b++ {
				for i := 0; i < T; i++ {
					copy(want[(b*T+i)*dOut:(b*T+i+1)*dOut], out1[(b*T+perm[i])*dOut:])
				}
			}
			graphtest.ExpectClose(t, "output of the permuted x", out2, want, 1e-12)
			H := att.Config.Heads
			wt1, wt2 := graphtest.Floats(w1), graphtest.Floats(w2)
			wantW := make([]float64, len(wt1))
			for bh := 0; bh < B*H; bh++ {
				for i := 0; i < T; i++ {
					for j := 0; j < T; j++ {
						wantW[(bh*T+i)*T+j] = wt1[(bh*T+perm[i])*T+perm[j]]
					}
				}
			}
			graphtest.ExpectClose(t, "weights of the permuted x", wt2, wantW, 1e-12)
		})
	}
}

// TestLargeInputs: x scaled by 1e3 (scores of order 1e6) gives finite outputs, weights
// that still sum to 1, and finite gradients.
func TestLargeInputs(t *testing.T) {
	for _, c := range []saCase{
		{name: "causal/2-heads/mask/key-padding", cfg: layers.AttentionConfig{DModel: 4, Heads: 2, Causal: true, OutProj: true, Bias: true},
			b: 2, tq: 4, mask: "batch", padLens: []int{4, 2}},
		{name: "cross", cfg: layers.AttentionConfig{DModel: 4, Cross: true, DCross: 3, OutProj: true}, b: 2, tq: 3, tk: 4},
	} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%s/%v", c.name, dt), func(t *testing.T) {
				g := G.NewGraph()
				a := c.build(t, g, dt, 600)
				for _, n := range []*G.Node{a.x, a.ctx} {
					if n == nil {
						continue
					}
					v := graphtest.Floats(n)
					for i := range v {
						v[i] *= 1e3
					}
					if err := G.Let(n, graphtest.DenseOf(dt, n.Shape(), v)); err != nil {
						t.Fatal(err)
					}
				}
				grads, err := G.Grad(randomCost(t, g, a.out, "r", 601), a.inputsAndLearn...)
				if err != nil {
					t.Fatal(err)
				}
				graphtest.RunGraph(t, g)
				graphtest.ExpectFinite(t, "output", graphtest.Floats(a.out))
				w := graphtest.Floats(a.weights)
				graphtest.ExpectFinite(t, "weights", w)
				H := a.att.Config.Heads
				for s := 0; s < len(w); s += a.tk {
					b, i := s/(H*a.tq*a.tk), (s/a.tk)%a.tq
					sum, want := 0.0, 0.0
					for j, p := range w[s : s+a.tk] {
						sum += p
						if !a.blocked(b, i, j) {
							want = 1 // a query with a key left sums to 1, else to 0
						}
					}
					if math.Abs(sum-want) > 1e-5 {
						t.Errorf("weights row at %d sums to %v; want %v", s, sum, want)
					}
				}
				for i, gr := range grads {
					graphtest.ExpectFinite(t, "gradient of "+a.inputsAndLearn[i].Name(), graphtest.Floats(gr))
				}
			})
		}
	}
}

// TestFullyMaskedQuery: a query whose every key is blocked by the mask input gets zero
// weights, a zero output row before Wo (so bo after it), and finite gradients.
func TestFullyMaskedQuery(t *testing.T) {
	for _, cfg := range []layers.AttentionConfig{
		{DModel: 4, Heads: 2, Bias: true},
		{DModel: 4, Heads: 2, Bias: true, OutProj: true},
	} {
		t.Run(fmt.Sprintf("OutProj=%v", cfg.OutProj), func(t *testing.T) {
			c := saCase{cfg: cfg, b: 2, tq: 3, mask: "batch", fullMask: true} // query 1 of batch row 0
			g := G.NewGraph()
			a := c.build(t, g, tensor.Float64, 700)
			grads, err := G.Grad(randomCost(t, g, a.out, "r", 701), a.inputsAndLearn...)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			w := graphtest.Floats(a.weights) // (2, 2, 3, 3)
			for h := 0; h < 2; h++ {
				graphtest.ExpectClose(t, fmt.Sprintf("weights of the masked query, head %d", h), w[(h*3+1)*3:][:3], []float64{0, 0, 0}, 0)
			}
			want := []float64{0, 0, 0, 0}
			if cfg.OutProj {
				want = graphtest.Floats(a.att.Bo)
			}
			graphtest.ExpectClose(t, "output row of the masked query", graphtest.Floats(a.out)[4:8], want, 0)
			for i, gr := range grads {
				graphtest.ExpectFinite(t, "gradient of "+a.inputsAndLearn[i].Name(), graphtest.Floats(gr))
			}
		})
	}
}

// TestMaskSemantics: key padding, a shared (Tq, Tk) mask and the causal flag each give
// exactly the output of the equivalent (B, Tq, Tk) mask.
func TestMaskSemantics(t *testing.T) {
	const B, T, D = 2, 4, 4
	cfg := layers.AttentionConfig{DModel: D, Heads: 2, OutProj: true, Bias: true}
	r := newRand(800)
	xs := graphtest.Normals(r, B*T*D, 1)
	padLens := []int{3, 2}
	shared := graphtest.RandomBlocked(r, T, T, 0.4, -1)
	// perBatch replicates a (T, T) pattern, or ORs a key padding into it, for each row.
	perBatch := func(rows func(b, i, j int) bool) []bool {
		m := make([]bool, B*T*T)
		for b := 0; b < B; b++ {
			for i := 0; i < T; i++ {
				for j := 0; j < T; j++ {
					m[(b*T+i)*T+j] = rows(b, i, j)
				}
			}
		}
		return m
	}
	pad, err := graph.KeyPaddingMask(padLens, T)
	if err != nil {
		t.Fatal(err)
	}
	causal := graph.CausalMask(T, T)
	// run builds a fresh graph with the layer (same name and seed: same values) and
	// returns out and weights for the given inputs.
	run := func(t *testing.T, causalCfg bool, in func(g *G.ExprGraph) layers.AttendInputs) ([]float64, []float64) {
		g := G.NewGraph()
		c := cfg
		c.Causal = causalCfg
		att, err := layers.NewSelfAttention(g, "attn", c, layers.WithDtype(tensor.Float64), layers.WithSeed(9), layers.WithInit(layers.Normal(0.7)))
		if err != nil {
			t.Fatal(err)
		}
		graphtest.SetRandom(t, newRand(801), 0.5, att.Bq, att.Bk, att.Bv, att.Bo)
		x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{B, T, D}, xs)
		out, w, err := att.Attend(x, in(g))
		if err != nil {
			t.Fatal(err)
		}
		graphtest.RunGraph(t, g)
		return graphtest.Floats(out), graphtest.Floats(w)
	}
	for _, c := range []struct {
		name      string
		causalCfg bool
		in        func(g *G.ExprGraph) layers.AttendInputs
		equiv     []bool // the (B, T, T) mask
	}{
		{"key padding", false, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{KeyPadding: graphtest.MaskInput(t, g, tensor.Float64, "pad", tensor.Shape{B, T}, pad)}
		}, perBatch(func(b, i, j int) bool { return pad[b*T+j] })},
		{"shared mask", false, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Mask: graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{T, T}, shared)}
		}, perBatch(func(b, i, j int) bool { return shared[i*T+j] })},
		{"shared mask and key padding", false, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{
				Mask:       graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{T, T}, shared),
				KeyPadding: graphtest.MaskInput(t, g, tensor.Float64, "pad", tensor.Shape{B, T}, pad),
			}
		}, perBatch(func(b, i, j int) bool { return shared[i*T+j] || pad[b*T+j] })},
		{"causal flag", true, func(g *G.ExprGraph) layers.AttendInputs { return layers.AttendInputs{} },
			perBatch(func(b, i, j int) bool { return causal[i*T+j] })},
		{"causal flag and key padding", true, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{KeyPadding: graphtest.MaskInput(t, g, tensor.Float64, "pad", tensor.Shape{B, T}, pad)}
		}, perBatch(func(b, i, j int) bool { return causal[i*T+j] || pad[b*T+j] })},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, w := run(t, c.causalCfg, c.in)
			wantOut, wantW := run(t, false, func(g *G.ExprGraph) layers.AttendInputs {
				return layers.AttendInputs{Mask: graphtest.MaskInput(t, g, tensor.Float64, "mask", tensor.Shape{B, T, T}, c.equiv)}
			})
			graphtest.ExpectClose(t, "output", out, wantOut, 0)
			graphtest.ExpectClose(t, "weights", w, wantW, 0)
			for i, p := range w {
				if c.equiv[(i/(2*T*T))*T*T+i%(T*T)] && p != 0 {
					t.Errorf("weight %d of a blocked key = %v", i, p)
				}
			}
		})
	}
}

// ---- configuration and bad input ----

func TestAttentionConfigValidate(t *testing.T) {
	type C = layers.AttentionConfig
	for _, c := range []struct {
		name string
		cfg  C
		ok   bool
	}{
		{"minimal", C{DModel: 1}, true},
		{"everything", C{DModel: 4, Heads: 2, DKey: 6, DValue: 8, Scale: 0.5, Causal: true, Cross: true, DCross: 3, OutProj: true, Bias: true}, true},
		{"cross with default DCross", C{DModel: 4, Cross: true}, true},
		{"zero value", C{}, false},
		{"negative DModel", C{DModel: -4}, false},
		{"negative heads", C{DModel: 4, Heads: -1}, false},
		{"negative DKey", C{DModel: 4, DKey: -2}, false},
		{"negative DValue", C{DModel: 4, DValue: -2}, false},
		{"negative DCross", C{DModel: 4, Cross: true, DCross: -3}, false},
		{"heads not dividing DModel (default DKey)", C{DModel: 4, Heads: 3}, false},
		{"heads not dividing DKey", C{DModel: 4, Heads: 2, DKey: 5}, false},
		{"heads not dividing DValue", C{DModel: 4, Heads: 2, DValue: 3}, false},
		{"NaN scale", C{DModel: 4, Scale: math.NaN()}, false},
		{"+Inf scale", C{DModel: 4, Scale: math.Inf(1)}, false},
		{"negative scale", C{DModel: 4, Scale: -0.5}, false},
		{"DCross without Cross", C{DModel: 4, DCross: 3}, false},
		{"variants", C{DModel: 8, Heads: 4, KVHeads: 2, RoPE: &layers.RoPEConfig{Theta: 500, Style: "half"}, ALiBi: true, Window: 4, Causal: true}, true},
		{"two-sided window", C{DModel: 8, WindowLeft: 3, WindowRight: 1}, true},
		{"right window only", C{DModel: 8, WindowRight: 2}, true},
		{"multi-query", C{DModel: 8, Heads: 4, KVHeads: 1}, true},
		{"KVHeads = Heads", C{DModel: 8, Heads: 4, KVHeads: 4}, true},
		{"negative KVHeads", C{DModel: 8, Heads: 4, KVHeads: -1}, false},
		{"KVHeads not dividing heads", C{DModel: 12, Heads: 4, KVHeads: 3}, false},
		{"KVHeads above heads", C{DModel: 8, Heads: 2, KVHeads: 4}, false},
		{"KVHeads with the default one head", C{DModel: 8, KVHeads: 2}, false},
		{"RoPE with an odd head width", C{DModel: 6, Heads: 2, RoPE: &layers.RoPEConfig{}}, false},
		{"RoPE style", C{DModel: 8, RoPE: &layers.RoPEConfig{Style: "neox"}}, false},
		{"RoPE negative theta", C{DModel: 8, RoPE: &layers.RoPEConfig{Theta: -1}}, false},
		{"RoPE NaN theta", C{DModel: 8, RoPE: &layers.RoPEConfig{Theta: math.NaN()}}, false},
		{"negative window", C{DModel: 8, Window: -1}, false},
		{"negative WindowLeft", C{DModel: 8, WindowLeft: -1, WindowRight: 2}, false},
		{"Window and WindowLeft", C{DModel: 8, Window: 2, WindowLeft: 1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.ok && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case !c.ok && !errors.Is(err, layers.ErrConfig):
				t.Errorf("Validate() = %v; want an error wrapping ErrConfig", err)
			}
			// The constructor must agree with Validate, without panicking.
			err = graphtest.NoPanic(func() error {
				_, err := layers.NewSelfAttention(G.NewGraph(), "attn", c.cfg)
				return err
			})
			if c.ok != (err == nil) || (!c.ok && !errors.Is(err, layers.ErrConfig)) {
				t.Errorf("NewSelfAttention: %v", err)
			}
		})
	}
}

func TestSelfAttentionBadInput(t *testing.T) {
	f64 := func(g *G.ExprGraph, name string, shape ...int) *G.Node {
		return graphtest.Input(g, tensor.Float64, name, shape, nil)
	}
	newAtt := func(g *G.ExprGraph, cfg layers.AttentionConfig) *layers.SelfAttention {
		a, err := layers.NewSelfAttention(g, "attn", cfg, layers.WithDtype(tensor.Float64))
		if err != nil {
			panic(err)
		}
		return a
	}
	self := layers.AttentionConfig{DModel: 4, Heads: 2}
	cross := layers.AttentionConfig{DModel: 4, Heads: 2, Cross: true, DCross: 3}
	// attend applies a layer of cfg to x (2, 3, 4) with the inputs in builds.
	attend := func(cfg layers.AttentionConfig, x func(g *G.ExprGraph) *G.Node, in func(g *G.ExprGraph) layers.AttendInputs) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			a := newAtt(g, cfg)
			xn := f64(g, "x", 2, 3, 4)
			if x != nil {
				xn = x(g)
			}
			var inputs layers.AttendInputs
			if in != nil {
				inputs = in(g)
			}
			_, _, err := a.Attend(xn, inputs)
			return err
		}
	}
	withCtx := func(shape ...int) func(g *G.ExprGraph) layers.AttendInputs {
		return func(g *G.ExprGraph) layers.AttendInputs { return layers.AttendInputs{Context: f64(g, "ctx", shape...)} }
	}
	newMask := func(g *G.ExprGraph, dt tensor.Dtype, name string, shape ...int) *G.Node {
		m, err := graph.NewMask(g, dt, shape, name)
		if err != nil {
			panic(err)
		}
		return m
	}
	newSA := func(name string, cfg layers.AttentionConfig, opts ...layers.Option) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			_, err := layers.NewSelfAttention(g, name, cfg, opts...)
			return err
		}
	}
	graphtest.RunBadCases(t, []graphtest.BadCase{
		{Name: "New: nil graph", Want: layers.ErrConfig, Build: func(*G.ExprGraph) error {
			_, err := layers.NewSelfAttention(nil, "attn", self)
			return err
		}},
		{Name: "New: empty name", Want: layers.ErrConfig, Build: newSA("", self)},
		{Name: "New: zero DModel", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{Heads: 2})},
		{Name: "New: negative DModel", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: -4})},
		{Name: "New: negative heads", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Heads: -2})},
		{Name: "New: negative DKey", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, DKey: -4})},
		{Name: "New: negative DValue", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, DValue: -4})},
		{Name: "New: negative DCross", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Cross: true, DCross: -1})},
		{Name: "New: heads not dividing DKey", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Heads: 3})},
		{Name: "New: heads not dividing DValue", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Heads: 2, DValue: 5})},
		{Name: "New: NaN scale", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Scale: math.NaN()})},
		{Name: "New: Inf scale", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Scale: math.Inf(1)})},
		{Name: "New: negative scale", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, Scale: -1})},
		{Name: "New: DCross without Cross", Want: layers.ErrConfig, Build: newSA("attn", layers.AttentionConfig{DModel: 4, DCross: 3})},
		{Name: "New: int dtype", Want: layers.ErrConfig, Build: newSA("attn", self, layers.WithDtype(tensor.Int))},
		{Name: "New: same name twice", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			newAtt(g, self)
			_, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: 4, OutProj: true}, layers.WithDtype(tensor.Float64))
			return err
		}},
		{Name: "New: name clashing with a Linear's learnable", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			if _, err := layers.NewLinear(g, "attn.wq", 4, 4, false); err != nil {
				return err
			}
			graphtest.Input(g, tensor.Float32, "attn.wk", tensor.Shape{4, 4}, nil)
			_, err := layers.NewSelfAttention(g, "attn", self)
			return err
		}},
		{Name: "Attend: nil x", Want: graph.ErrArgument, Build: attend(self, func(*G.ExprGraph) *G.Node { return nil }, nil)},
		{Name: "Attend: 1-D x", Want: graph.ErrShape, Build: attend(self, func(g *G.ExprGraph) *G.Node { return f64(g, "x1", 4) }, nil)},
		{Name: "Attend: 4-D x", Want: graph.ErrShape, Build: attend(self, func(g *G.ExprGraph) *G.Node { return f64(g, "x4", 1, 2, 3, 4) }, nil)},
		{Name: "Attend: x of the wrong width", Want: graph.ErrShape, Build: attend(self, func(g *G.ExprGraph) *G.Node { return f64(g, "x5", 2, 3, 5) }, nil)},
		{Name: "Attend: float32 x into a float64 layer", Want: graph.ErrDtype, Build: attend(self, func(g *G.ExprGraph) *G.Node {
			return graphtest.Input(g, tensor.Float32, "x32", tensor.Shape{2, 3, 4}, nil)
		}, nil)},
		{Name: "Attend: cross layer without context", Want: graph.ErrArgument, Build: attend(cross, nil, nil)},
		{Name: "Forward: cross layer", Want: graph.ErrArgument, Build: func(g *G.ExprGraph) error {
			_, err := newAtt(g, cross).Forward(f64(g, "x", 2, 3, 4))
			return err
		}},
		{Name: "Attend: context to a non-cross layer", Want: graph.ErrArgument, Build: attend(self, nil, withCtx(2, 5, 4))},
		{Name: "Attend: context of the wrong width", Want: graph.ErrShape, Build: attend(cross, nil, withCtx(2, 5, 4))},
		{Name: "Attend: context of another batch", Want: graph.ErrShape, Build: attend(cross, nil, withCtx(3, 5, 3))},
		{Name: "Attend: 2-D context for 3-D x", Want: graph.ErrShape, Build: attend(cross, nil, withCtx(5, 3))},
		{Name: "Attend: 1-D context", Want: graph.ErrShape, Build: attend(cross, nil, withCtx(3))},
		{Name: "Attend: float32 context", Want: graph.ErrDtype, Build: attend(cross, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Context: graphtest.Input(g, tensor.Float32, "ctx", tensor.Shape{2, 5, 3}, nil)}
		})},
		{Name: "Attend: mask (Tk, Tq) of a cross layer", Want: graph.ErrShape, Build: attend(cross, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Context: f64(g, "ctx", 2, 5, 3), Mask: newMask(g, tensor.Float64, "mask", 5, 3)}
		})},
		{Name: "Attend: mask of another batch", Want: graph.ErrShape, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Mask: newMask(g, tensor.Float64, "mask", 3, 3, 3)}
		})},
		{Name: "Attend: mask of the wrong size", Want: graph.ErrShape, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Mask: newMask(g, tensor.Float64, "mask", 4, 4)}
		})},
		{Name: "Attend: float32 mask", Want: graph.ErrDtype, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Mask: newMask(g, tensor.Float32, "mask", 3, 3)}
		})},
		{Name: "Attend: key padding (B, Tq) of a cross layer", Want: graph.ErrShape, Build: attend(cross, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{Context: f64(g, "ctx", 2, 5, 3), KeyPadding: newMask(g, tensor.Float64, "pad", 2, 3)}
		})},
		{Name: "Attend: key padding of another batch", Want: graph.ErrShape, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{KeyPadding: newMask(g, tensor.Float64, "pad", 1, 3)}
		})},
		{Name: "Attend: key padding (B, T, T)", Want: graph.ErrShape, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{KeyPadding: newMask(g, tensor.Float64, "pad", 2, 3, 3)}
		})},
		{Name: "Attend: float32 key padding", Want: graph.ErrDtype, Build: attend(self, nil, func(g *G.ExprGraph) layers.AttendInputs {
			return layers.AttendInputs{KeyPadding: newMask(g, tensor.Float32, "pad", 2, 3)}
		})},
	})
}

// SelfAttention with a key/value cache, fed a sequence in chunks (several positions at
// once after cached ones, then one at a time), gives the outputs and weights of the
// plain layer over the whole prefix, for every configuration: custom scale, key and
// value widths apart from the model's, heads, biases, no output projection, causal or
// not.
func TestSelfAttentionCacheMatchesFull(t *testing.T) {
	cfgs := []layers.AttentionConfig{
		{DModel: 8, Heads: 2, Causal: true, OutProj: true, Bias: true, Scale: 0.7},
		{DModel: 6, Heads: 3, DKey: 9, DValue: 12, Causal: true, OutProj: true},
		{DModel: 6, Heads: 3, DKey: 9, DValue: 12, Causal: true, Scale: 2.5},
		{DModel: 8, Heads: 1, Bias: true},
		{DModel: 4, Heads: 4, OutProj: true, Scale: 0.1},
		{DModel: 8, Heads: 4, KVHeads: 2, Causal: true, OutProj: true, RoPE: &layers.RoPEConfig{}},
		{DModel: 8, Heads: 2, KVHeads: 1, Causal: true, Bias: true, RoPE: &layers.RoPEConfig{Style: "half", Theta: 100}, ALiBi: true, Window: 3},
		{DModel: 8, Heads: 4, ALiBi: true, WindowLeft: 2, WindowRight: 1},
	}
	const batch, steps = 2, 7
	chunks := []int{3, 1, 2, 1} // positions fed per run: 0–2, 3, 4–5, 6
	for _, cfg := range cfgs {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			tol := 1e-12
			if dt == tensor.Float32 {
				tol = 1e-5
			}
			t.Run(fmt.Sprintf("%+v/%v", cfg, dt), func(t *testing.T) {
				g := G.NewGraph()
				a, err := layers.NewSelfAttention(g, "attn", cfg, layers.WithDtype(dt), layers.WithSeed(2), layers.WithInit(layers.Normal(0.5)))
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(3, 4))
				xs := make([]float64, batch*steps*cfg.DModel)
				for i := range xs {
					xs[i] = rng.NormFloat64()
				}
				// rows returns x's positions [from, to) of every batch row as a tensor.
				rows := func(from, to int) *tensor.Dense {
					var v []float64
					for b := 0; b < batch; b++ {
						v = append(v, xs[(b*steps+from)*cfg.DModel:(b*steps+to)*cfg.DModel]...)
					}
					d, _ := num.Dense(dt, []int{batch, to - from, cfg.DModel}, v)
					return d
				}
				input := func(name string, n int) *G.Node {
					return G.NewTensor(g, dt, 3, G.WithShape(batch, n, cfg.DModel), G.WithName(name))
				}
				run := func(p *graph.Program, nodes ...*G.Node) [][]float64 {
					if err := p.Run(); err != nil {
						t.Fatal(err)
					}
					var out [][]float64
					for _, n := range nodes {
						out = append(out, graphtest.Values(t, p.Value(n)))
					}
					return out
				}
				cache, err := graph.NewKVCache(batch, steps)
				if err != nil {
					t.Fatal(err)
				}
				type pass struct {
					x, out, w *G.Node
					prog      *graph.Program
				}
				passes := map[int]pass{}
				for _, n := range chunks {
					if _, ok := passes[n]; ok {
						continue
					}
					x := input(fmt.Sprintf("cached.x%d", n), n)
					out, w, err := a.Attend(x, layers.AttendInputs{Cache: cache, CacheSlot: 0})
					if err != nil {
						t.Fatal(err)
					}
					p, err := graph.NewProgram(out, w)
					if err != nil {
						t.Fatal(err)
					}
					passes[n] = pass{x, out, w, p}
				}
				dOut := a.Config.DModel
				if !cfg.OutProj {
					dOut = a.Config.DValue
				}
				h := a.Config.Heads
				worst, off := 0.0, 0
				for _, n := range chunks {
					end := off + n
					// the plain layer over the prefix [0, end)
					x := input(fmt.Sprintf("full.x%d", end), end)
					out, w, err := a.Attend(x, layers.AttendInputs{})
					if err != nil {
						t.Fatal(err)
					}
					p, err := graph.NewProgram(out, w)
					if err != nil {
						t.Fatal(err)
					}
					if err := G.Let(x, rows(0, end)); err != nil {
						t.Fatal(err)
					}
					want := run(p, out, w) // (B, end, dOut), (B, H, end, end)
					c := passes[n]
					if err := G.Let(c.x, rows(off, end)); err != nil {
						t.Fatal(err)
					}
					got := run(c.prog, c.out, c.w) // (B, n, dOut), (B, H, n, steps)
					if err := cache.Advance(n); err != nil {
						t.Fatal(err)
					}
					for b := 0; b < batch; b++ {
						for i := 0; i < n; i++ {
							for j := 0; j < dOut; j++ {
								g, w := got[0][(b*n+i)*dOut+j], want[0][(b*end+off+i)*dOut+j]
								worst = math.Max(worst, math.Abs(g-w)/math.Max(1, math.Abs(w)))
							}
							for hd := 0; hd < h; hd++ {
								for k := 0; k < steps; k++ {
									g, w := got[1][((b*h+hd)*n+i)*steps+k], 0.0
									if k < end {
										w = want[1][((b*h+hd)*end+off+i)*end+k]
									}
									if k >= end && g != 0 {
										t.Fatalf("weight of key %d (of %d so far) = %v; want 0", k, end, g)
									}
									worst = math.Max(worst, math.Abs(g-w))
								}
							}
						}
					}
					off = end
				}
				if worst > tol {
					t.Fatalf("cached attention differs from the full layer by %.3g (> %g)", worst, tol)
				}
				// The cache is full now: one more position is an error when the graph runs.
				if err := passes[1].prog.Run(); err == nil {
					t.Fatal("a run past the cache's capacity succeeded")
				}
			})
		}
	}
}

// variantRun builds a layer of cfg (float64, weights N(0, 0.5²) from seed, random
// biases), applies it to x (b, t, DModel) and runs it; it returns the layer, the output
// and the weights.
func variantRun(t *testing.T, cfg layers.AttentionConfig, seed uint64, b, tq int, x []float64, set func(*layers.SelfAttention)) (*layers.SelfAttention, []float64, []float64) {
	t.Helper()
	g := G.NewGraph()
	att, err := layers.NewSelfAttention(g, "attn", cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(seed), layers.WithInit(layers.Normal(0.5)))
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(seed + 1)
	for _, bn := range []*G.Node{att.Bq, att.Bk, att.Bv, att.Bo} {
		if bn != nil {
			graphtest.SetRandom(t, r, 0.5, bn)
		}
	}
	if set != nil {
		set(att)
	}
	xn := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{b, tq, cfg.DModel}, x)
	out, w, err := att.Attend(xn, layers.AttendInputs{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(out, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	return att, graphtest.Values(t, p.Value(out)), graphtest.Values(t, p.Value(w))
}

// TestGQAIsMultiHead checks grouped-query attention against plain multi-head attention:
// KVHeads = Heads is the default layer, value for value; and a layer of 4 query heads
// over 2 key/value heads equals the multi-head layer whose Wk, Wv, bk and bv repeat each
// key/value head's columns for the two query heads that read it.
func TestGQAIsMultiHead(t *testing.T) {
	const b, tq = 2, 5
	base := layers.AttentionConfig{DModel: 8, Heads: 4, Causal: true, OutProj: true, Bias: true}
	x := graphtest.Normals(newRand(9), b*tq*8, 1)
	_, out0, w0 := variantRun(t, base, 4, b, tq, x, nil)
	same := base
	same.KVHeads = 4
	_, out1, w1 := variantRun(t, same, 4, b, tq, x, nil)
	graphtest.ExpectClose(t, "KVHeads = Heads: output", out1, out0, 0)
	graphtest.ExpectClose(t, "KVHeads = Heads: weights", w1, w0, 0)

	gqa := base
	gqa.KVHeads = 2
	att, outG, wG := variantRun(t, gqa, 5, b, tq, x, nil)
	// repeat: the columns of each of the 2 kv heads (width 2) twice, rows of width 4 → 8.
	repeat := func(v []float64, rows int) []float64 {
		const w, kv, grp = 2, 2, 2
		r := make([]float64, 0, rows*w*kv*grp)
		for i := 0; i < rows; i++ {
			row := v[i*w*kv : (i+1)*w*kv]
			for g := 0; g < kv; g++ {
				for k := 0; k < grp; k++ {
					r = append(r, row[g*w:(g+1)*w]...)
				}
			}
		}
		return r
	}
	_, outM, wM := variantRun(t, base, 6, b, tq, x, func(m *layers.SelfAttention) {
		for _, p := range [][2]*G.Node{{m.Wq, att.Wq}, {m.Wo, att.Wo}, {m.Bq, att.Bq}, {m.Bo, att.Bo}} {
			setValues(t, p[0], graphtest.Floats(p[1]))
		}
		setValues(t, m.Wk, repeat(graphtest.Floats(att.Wk), 8))
		setValues(t, m.Wv, repeat(graphtest.Floats(att.Wv), 8))
		setValues(t, m.Bk, repeat(graphtest.Floats(att.Bk), 1))
		setValues(t, m.Bv, repeat(graphtest.Floats(att.Bv), 1))
	})
	graphtest.ExpectClose(t, "GQA against repeated heads: output", outG, outM, 1e-13)
	graphtest.ExpectClose(t, "GQA against repeated heads: weights", wG, wM, 1e-13)
}

// TestWindowForgetsDistantKeys changes the input at one position j of a causal layer
// with Window W: the outputs at j … j+W−1 change, those at j+W and later, which see
// only the W most recent keys, do not change at all.
func TestWindowForgetsDistantKeys(t *testing.T) {
	const tq, w, j = 9, 3, 2
	for _, cfg := range []layers.AttentionConfig{
		{DModel: 4, Heads: 2, Causal: true, Window: w, OutProj: true, Bias: true},
		{DModel: 8, Heads: 4, KVHeads: 2, Causal: true, Window: w, RoPE: &layers.RoPEConfig{}, ALiBi: true},
	} {
		d := cfg.DModel
		x := graphtest.Normals(newRand(11), tq*d, 1)
		_, out, _ := variantRun(t, cfg, 7, 1, tq, x, nil)
		x2 := append([]float64(nil), x...)
		for c := 0; c < d; c++ {
			x2[j*d+c] += 1.5
		}
		_, out2, _ := variantRun(t, cfg, 7, 1, tq, x2, nil)
		dOut := len(out) / tq
		for i := 0; i < tq; i++ {
			diff := 0.0
			for c := 0; c < dOut; c++ {
				diff = math.Max(diff, math.Abs(out[i*dOut+c]-out2[i*dOut+c]))
			}
			switch {
			case (i < j || i >= j+w) && diff != 0:
				t.Errorf("%+v: output %d changed by %g when input %d changed; want 0", cfg, i, diff, j)
			case i >= j && i < j+w && diff < 1e-6:
				t.Errorf("%+v: output %d changed by %g when input %d changed; want a change", cfg, i, diff, j)
			}
		}
	}
}

// TestRoPERelativePositions checks that with rotary embeddings a score depends on the
// positions only through their difference: over an input that repeats every P rows
// (no causal mask), log w[i][j] − log w[i][j'] = log w[i+P][j+P] − log w[i+P][j'+P]
// for every head, while the same layer without RoPE gives other scores.
func TestRoPERelativePositions(t *testing.T) {
	const tq, period, h = 9, 3, 2
	for _, style := range []string{"interleaved", "half"} {
		cfg := layers.AttentionConfig{DModel: 8, Heads: h, KVHeads: 1, Bias: true, RoPE: &layers.RoPEConfig{Style: style, Theta: 30}}
		base := graphtest.Normals(newRand(13), period*8, 1)
		var x []float64
		for len(x) < tq*8 {
			x = append(x, base...)
		}
		x = x[:tq*8]
		_, _, w := variantRun(t, cfg, 8, 1, tq, x, nil)
		plain := cfg
		plain.RoPE = nil
		_, _, wp := variantRun(t, plain, 8, 1, tq, x, nil)
		score := func(w []float64, hd, i, j, j2 int) float64 {
			row := w[(hd*tq+i)*tq:]
			return math.Log(row[j]) - math.Log(row[j2])
		}
		worst, apart := 0.0, 0.0
		for hd := 0; hd < h; hd++ {
			for i := 0; i+period < tq; i++ {
				for j := 0; j+period < tq; j++ {
					for j2 := 0; j2+period < tq; j2++ {
						a, b := score(w, hd, i, j, j2), score(w, hd, i+period, j+period, j2+period)
						worst = math.Max(worst, math.Abs(a-b))
						apart = math.Max(apart, math.Abs(a-score(wp, hd, i, j, j2)))
					}
				}
			}
		}
		if worst > 1e-10 {
			t.Errorf("%s: scores differ by %g between positions shifted by %d; want equal", style, worst, period)
		}
		if apart < 1e-2 {
			t.Errorf("%s: RoPE changes the scores by at most %g; want a change", style, apart)
		}
	}
}

// TestWeightsOnlyWhenAsked checks that a program over the layer's output alone never
// builds its (T × T) weights: running it at T = 1024 allocates far less than their
// 8 MB, while a program that asks for them does allocate them.
func TestWeightsOnlyWhenAsked(t *testing.T) {
	const tq, d = 1024, 4
	g := G.NewGraph()
	att, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: d, Causal: true}, layers.WithDtype(tensor.Float64), layers.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{1, tq, d}, graphtest.Normals(newRand(3), tq*d, 1))
	out, w, err := att.Attend(x, layers.AttendInputs{})
	if err != nil {
		t.Fatal(err)
	}
	alloc := func(outs ...*G.Node) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := graph.NewProgram(outs...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	const weights = tq * tq * 8
	if n := alloc(out); n > weights/8 {
		t.Errorf("a program over the output allocated %d bytes; want far less than the weights' %d", n, weights)
	}
	if n := alloc(out, w); n < weights {
		t.Errorf("a program over the output and the weights allocated %d bytes; want at least the weights' %d", n, weights)
	}
}

// setValues replaces the value of the learnable n by v.
func setValues(t *testing.T, n *G.Node, v []float64) {
	t.Helper()
	if err := G.Let(n, graphtest.DenseOf(n.Dtype(), n.Shape(), v)); err != nil {
		t.Fatal(err)
	}
}
