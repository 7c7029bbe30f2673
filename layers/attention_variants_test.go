package layers_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

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
