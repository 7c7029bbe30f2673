package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lmStep runs two training steps (dropout on) of a small GPT built with the current
// sharing settings and returns the losses and every gradient of the second step.
func lmStep(t *testing.T, dt tensor.Dtype) [][]float64 {
	t.Helper()
	cfg := gpt.Config{Vocab: 11, BlockSize: 8, Layers: 2, Heads: 2, Width: 16, Tied: true, Dropout: 0.1}
	lm, err := gpt.NewLM(cfg, 3, layers.WithDtype(dt), layers.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	var out [][]float64
	for step := 0; step < 2; step++ {
		x, y := make([]int, 3*8), make([]int, 3*8)
		for i := range x {
			x[i], y[i] = rng.IntN(11), rng.IntN(11)-1 // some targets unscored
		}
		loss, err := lm.Backward(step, x, y)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []float64{loss})
	}
	for _, vg := range lm.ValueGrads() {
		g, err := vg.Grad()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, graphtest.Values(t, g))
	}
	// evaluation runs its own program over the same forward ops: it must not disturb
	// the training program's outputs
	x := make([]int, 3*8)
	if _, _, _, err := lm.Evaluate(x, x); err != nil {
		t.Fatal(err)
	}
	for i, vg := range lm.ValueGrads() {
		g, _ := vg.Grad()
		if d, _ := graphtest.WorstDiff(graphtest.Values(t, g), out[2+i]); d != 0 {
			t.Fatalf("gradient %d changed by %g after an evaluation", i, d)
		}
	}
	return out
}

// A GPT's training step gives the same loss and gradients, bit for bit, with buffers
// shared by liveness (and every lent buffer filled with NaN before its op runs) as with
// one buffer per op.
func TestProgramSharingMatchesUnshared(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		restore := graph.SetSharing(false, false)
		want := lmStep(t, dt)
		restore()
		restore = graph.SetSharing(true, true)
		got := lmStep(t, dt)
		restore()
		for i := range want {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%v: value %d has %d elements shared, %d unshared", dt, i, len(got[i]), len(want[i]))
			}
			for j := range want[i] {
				if math.Float64bits(got[i][j]) != math.Float64bits(want[i][j]) {
					t.Fatalf("%v: value %d[%d] = %v shared, %v unshared", dt, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// trainProgram compiles the loss and gradients of a GPT over (batch, BlockSize) ids, and
// the evaluation pass (loss and logits) over the same ops.
func trainProgram(t *testing.T, cfg gpt.Config, batch int) (train, eval *graph.Program) {
	t.Helper()
	g := G.NewGraph()
	m, err := gpt.New(g, cfg, layers.WithDtype(tensor.Float32))
	if err != nil {
		t.Fatal(err)
	}
	sh := tensor.Shape{batch, cfg.BlockSize}
	x := graphtest.IntInput(g, "ids", sh, make([]int, sh.TotalSize()))
	y := graphtest.IntInput(g, "targets", sh, make([]int, sh.TotalSize()))
	logits, loss := graphtest.LMLoss(t, m, x, y)
	grads, err := G.Grad(loss, m.Learnables()...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := graph.NewProgram(append(G.Nodes{loss}, grads...)...)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.NewProgram(loss, logits)
	if err != nil {
		t.Fatal(err)
	}
	return p, e
}

// The arena of a GPT's training program (nanoGPT's CPU preset, and its context of 1024)
// is a fraction of the sum of its ops' outputs: what the backward pass needs alive at
// once. Measured: 35.5 of 74.8 MB at T = 64 (0.47), 1627 of 3414 MB at T = 1024 (0.48),
// where the four layers' attention weights (B, H, T, T) alone take 805 MB and stay
// alive for the backward pass; the bound is that with a margin.
func TestProgramArenaBytes(t *testing.T) {
	for _, c := range []struct {
		block int
		limit float64
	}{{64, 0.55}, {1024, 0.55}} {
		cfg := gpt.Config{Vocab: 65, BlockSize: c.block, Layers: 4, Heads: 4, Width: 128, Tied: true}
		p, e := trainProgram(t, cfg, 12)
		arena, unshared := p.BufferBytes()
		r := float64(arena) / float64(unshared)
		ea, eu := e.BufferBytes()
		t.Logf("T=%d: arena %.1f MB, one buffer per op %.1f MB (%.2f); evaluation pass %.1f MB of %.1f MB",
			c.block, float64(arena)/1e6, float64(unshared)/1e6, r, float64(ea)/1e6, float64(eu)/1e6)
		if !(r < c.limit) || arena <= 0 {
			t.Errorf("T=%d: arena %d bytes of %d unshared (%.2f); want < %.2f", c.block, arena, unshared, r, c.limit)
		}
	}
}

// Every op of the package, forward and backward, writes all of its lent buffer and
// nothing else: a Program sharing buffers, with each lent buffer filled with NaN before
// its op runs, gives the TapeMachine's values bit for bit (which use each op's own
// buffer), run after run.
func TestProgramPoisonedMatchesTapeMachine(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		r := newRand(41)
		must := graphtest.Must(t)
		const b, tt, c, h, v = 2, 5, 8, 2, 7
		g := G.NewGraph()
		in := func(name string, shape ...int) *G.Node {
			return graphtest.Input(g, dt, name, shape, graphtest.Normals(r, tensor.Shape(shape).TotalSize(), 0.5))
		}
		table, pos := in("table", v, c), in("pos", tt, c)
		gain, bias := in("gain", c), in("bias", c)
		wq, wk, wv, wo := in("wq", c, c), in("wk", c, c), in("wv", c, c), in("wo", c, v)
		sb := in("scorebias", 1, h, tt, tt)
		ids := graphtest.IntInput(g, "ids", tensor.Shape{b, tt}, []int{1, 2, 3, 4, 5, 6, 0, 1, 2, 3})
		targets := graphtest.IntInput(g, "targets", tensor.Shape{b, tt}, []int{2, 3, -1, 5, 6, 0, 1, 2, 3, 4})
		pad := graphtest.MaskInput(t, g, dt, "pad", tensor.Shape{b, tt}, []bool{false, false, false, true, true, false, false, false, false, false})
		mask := graphtest.MaskInput(t, g, dt, "mask", tensor.Shape{tt, tt}, graph.CausalMask(tt, tt))
		mode := &graph.DropoutMode{}
		mode.SetTraining(true)
		x := must(graph.Embed(table, ids))
		x = must(graph.AddPositions(x, pos))
		n := must(graph.LayerNorm(x, gain, bias, 1e-5))
		q := must(graph.RoPE(must(graph.Dense(n, wq, nil, false)), graph.RoPEOpts{HeadDim: c / h}))
		k := must(graph.RoPE(must(graph.Dense(n, wk, nil, false)), graph.RoPEOpts{HeadDim: c / h, Style: graph.RoPEHalf}))
		vv := must(graph.Dense(n, wv, bias, false))
		fa := must(graph.FlashAttention(q, k, vv, graph.FlashOpts{Heads: h, Causal: true, Bias: sb, KeyPadding: pad, BlockQ: 2, BlockK: 3}))
		at, _, err := graph.Attention(q, k, vv, graph.AttentionOpts{Heads: h, Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		sm := must(graph.SoftMax(must(graph.Scores(q, k, h, 0.3)), mask))
		lsm := must(graph.LogSoftMax(must(graph.Scores(k, q, h, 0.2)), nil))
		y := must(graph.Add(fa, at))
		y = must(graph.Dropout(must(graph.GELU(y)), 0.2, 3, mode))
		y = must(graph.Add(y, x))
		loss := must(graph.CrossEntropy(must(graph.Dense(y, wo, nil, false)), targets))
		cost := must(G.Add(loss, graphtest.WeightedSum(t, sm, in("r1", b, h, tt, tt))))
		cost = must(G.Add(cost, graphtest.WeightedSum(t, lsm, in("r2", b, h, tt, tt))))
		wrt := G.Nodes{table, pos, gain, bias, wq, wk, wv, wo, sb}
		grads, err := G.Grad(cost, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		outs := append(G.Nodes{cost}, grads...)
		want := graphtest.TapeValues(t, g, outs)
		restore := graph.SetSharing(true, true)
		p, err := graph.NewProgram(outs...)
		if err != nil {
			t.Fatal(err)
		}
		graphtest.ExpectRunsMatch(t, dt.String(), p, outs, want, 2)
		restore()
		if a, u := p.BufferBytes(); !(a > 0 && a < u) {
			t.Errorf("%v: arena %d bytes, unshared %d: nothing shared", dt, a, u)
		}
		if p.Value(n) != nil {
			t.Errorf("%v: Value of a computed node that is not an output is not nil", dt)
		}
	}
}

// A Gorgonia op's result may be a view of its input (a reshape is): the buffer of the
// input then stays alive as long as the view does, even past the input's last direct
// reader.
func TestProgramKeepsViewedBuffers(t *testing.T) {
	must := graphtest.Must(t)
	r := newRand(43)
	g := G.NewGraph()
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, graphtest.Normals(r, 6, 1))
	z := graphtest.Input(g, tensor.Float64, "z", tensor.Shape{2, 3}, graphtest.Normals(r, 6, 1))
	a := must(graph.GELU(x))
	view := must(G.Reshape(must(G.Reshape(a, tensor.Shape{3, 2})), tensor.Shape{2, 3}))
	c := must(graph.GELU(z)) // after a's last direct reader: may take a's buffer
	out := must(G.HadamardProd(view, c))
	m := G.NewTapeMachine(g)
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := graphtest.Values(t, out.Value())
	m.Close()
	defer graph.SetSharing(true, true)()
	p, err := graph.NewProgram(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	if d, i := graphtest.WorstDiff(graphtest.Values(t, p.Value(out)), want); d != 0 {
		t.Fatalf("element %d off by %g", i, d)
	}
}
