package train_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/graphtest"
	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/attend-go/attend/train"
)

// fakeParam is a gorgonia.ValueGrad over plain tensors.
type fakeParam struct {
	v, g gorgonia.Value // g nil: no gradient
}

func (p *fakeParam) Value() gorgonia.Value { return p.v }

func (p *fakeParam) Grad() (gorgonia.Value, error) {
	if p.g == nil {
		return nil, errors.New("no gradient")
	}
	return p.g, nil
}

func dense64(shape []int, data ...float64) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64{}, data...)))
}

func dense32(shape []int, data ...float64) *tensor.Dense {
	s := make([]float32, len(data))
	for i, x := range data {
		s[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(s))
}

func param(v, g *tensor.Dense) *fakeParam { return &fakeParam{v: v, g: g} }

func assertClose(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > rel*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s[%d] = %.17g, want %.17g (diff %.3g)", what, i, got[i], want[i], d)
		}
	}
}

func testConfig() train.AdamWConfig {
	return train.AdamWConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
}

// Two steps on a 2×2 weight (decayed) and a bias (not decayed), float64.
// Expected values computed by hand from the textbook form, e.g. step 1, W[0,0]:
// p = 1·(1 − 0.01·0.1) − 0.01·ĝ/(|ĝ|+1e-8) with m̂ = g = 0.5, √v̂ = 0.5
// → 0.999 − 0.0099999998 = 0.9890000002.
var adamwHand = struct {
	w0, b0, gw1, gb1, gw2, gb2 []float64
	lr1, lr2                   float64
	w1, b1, w2, b2             []float64
}{
	w0: []float64{1, -2, 0.5, 3}, b0: []float64{0.1, -0.2},
	gw1: []float64{0.5, -1, 0, 2}, gb1: []float64{1, -3},
	gw2: []float64{-0.5, 0.25, 1, 2}, gb2: []float64{2, 0.5},
	lr1: 0.01, lr2: 0.005,
	w1: []float64{0.9890000002, -1.9880000001, 0.4995, 2.98700000005},
	b1: []float64{0.0900000001, -0.19000000003333334},
	w2: []float64{0.9887686580893738, -1.984658659276123, 0.4955295659347704, 2.9805065000749753},
	b2: []float64{0.08517409000140833, -0.18730731228621372},
}

func TestAdamWHandComputed(t *testing.T) {
	h := adamwHand
	for _, tc := range []struct {
		name string
		mk   func([]int, ...float64) *tensor.Dense
		rel  float64
	}{
		{"float64", dense64, 1e-14},
		{"float32", dense32, 3e-7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := train.NewAdamW(testConfig())
			if err != nil {
				t.Fatal(err)
			}
			w := param(tc.mk([]int{2, 2}, h.w0...), tc.mk([]int{2, 2}, h.gw1...))
			b := param(tc.mk([]int{2}, h.b0...), tc.mk([]int{2}, h.gb1...))
			ps := []gorgonia.ValueGrad{w, b}
			if err := opt.Step(ps, h.lr1); err != nil {
				t.Fatal(err)
			}
			assertClose(t, "step 1 W", graphtest.Values(t, w.v), h.w1, tc.rel)
			assertClose(t, "step 1 b", graphtest.Values(t, b.v), h.b1, tc.rel)
			assertClose(t, "grad W after step", graphtest.Values(t, w.g), []float64{0, 0, 0, 0}, 0)
			assertClose(t, "grad b after step", graphtest.Values(t, b.g), []float64{0, 0}, 0)

			floatsOf64(w.g, h.gw2) // next gradients, in place
			floatsOf64(b.g, h.gb2)
			if err := opt.Step(ps, h.lr2); err != nil {
				t.Fatal(err)
			}
			assertClose(t, "step 2 W", graphtest.Values(t, w.v), h.w2, tc.rel)
			assertClose(t, "step 2 b", graphtest.Values(t, b.v), h.b2, tc.rel)
			if got := opt.Steps(); got != 2 {
				t.Errorf("Steps() = %d, want 2", got)
			}
		})
	}
}

// floatsOf64 writes vals into a float32 or float64 tensor in place.
func floatsOf64(v gorgonia.Value, vals []float64) []float64 {
	switch d := v.Data().(type) {
	case []float64:
		copy(d, vals)
	case []float32:
		for i, x := range vals {
			d[i] = float32(x)
		}
	}
	return vals
}

func TestAdamWDecayOnlyRank2(t *testing.T) {
	// Zero gradients isolate the decay: m = v = 0, so the Adam term is 0.
	opt, err := train.NewAdamW(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	scalar := gorgonia.F64(5)
	tests := []struct {
		name string
		p    gorgonia.ValueGrad
		want []float64
	}{
		{"matrix decays", param(dense64([]int{1, 2}, 2, -4), dense64([]int{1, 2}, 0, 0)), []float64{2 * 0.998, -4 * 0.998}},
		{"3-D decays", param(dense64([]int{1, 1, 1}, 10), dense64([]int{1, 1, 1}, 0)), []float64{10 * 0.998}},
		{"vector does not", param(dense64([]int{2}, 2, -4), dense64([]int{2}, 0, 0)), []float64{2, -4}},
		{"gorgonia scalar does not", &fakeParam{v: &scalar, g: new(gorgonia.F64)}, []float64{5}},
	}
	ps := make([]gorgonia.ValueGrad, len(tests))
	for i, tc := range tests {
		ps[i] = tc.p
	}
	if err := opt.Step(ps, 0.02); err != nil { // lr·wd = 0.002
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []float64
			if s, ok := tc.p.Value().(*gorgonia.F64); ok {
				got = []float64{float64(*s)}
			} else {
				got = graphtest.Values(t, tc.p.Value())
			}
			assertClose(t, "value", got, tc.want, 1e-15)
		})
	}
}

func TestAdamWStateRoundTrip(t *testing.T) {
	h := adamwHand
	newParams := func() []gorgonia.ValueGrad {
		return []gorgonia.ValueGrad{
			param(dense64([]int{2, 2}, h.w0...), dense64([]int{2, 2}, h.gw1...)),
			param(dense32([]int{2}, h.b0...), dense32([]int{2}, h.gb1...)),
		}
	}
	setGrads := func(ps []gorgonia.ValueGrad, gw, gb []float64) {
		floatsOf64(ps[0].(*fakeParam).g, gw)
		floatsOf64(ps[1].(*fakeParam).g, gb)
	}
	a, _ := train.NewAdamW(testConfig())
	pa := newParams()
	for step := 0; step < 2; step++ {
		setGrads(pa, h.gw1, h.gb1)
		if err := a.Step(pa, 0.01); err != nil {
			t.Fatal(err)
		}
	}
	saved := a.State()
	if saved.Step != 2 || len(saved.M) != 2 || len(saved.V) != 2 {
		t.Fatalf("State() = step %d, %d M, %d V; want 2, 2, 2", saved.Step, len(saved.M), len(saved.V))
	}
	if saved.M[1].Dtype() != tensor.Float32 || !saved.V[0].Shape().Eq(tensor.Shape{2, 2}) {
		t.Errorf("state layout: M[1] %v, V[0] %v; want float32, (2, 2)", saved.M[1].Dtype(), saved.V[0].Shape())
	}

	// A fresh optimizer with the saved state, on copies of the parameters.
	b, _ := train.NewAdamW(testConfig())
	if err := b.SetState(saved); err != nil {
		t.Fatal(err)
	}
	pb := newParams()
	for i := range pb {
		floatsOf64(pb[i].Value(), graphtest.Values(t, pa[i].Value()))
	}
	saved.M[0].Float64s()[0] = 1e9 // the optimizer must hold its own copy
	for _, ps := range [][]gorgonia.ValueGrad{pa, pb} {
		setGrads(ps, h.gw2, h.gb2)
	}
	if err := a.Step(pa, 0.005); err != nil {
		t.Fatal(err)
	}
	if err := b.Step(pb, 0.005); err != nil {
		t.Fatal(err)
	}
	for i := range pa {
		assertClose(t, fmt.Sprintf("param %d", i), graphtest.Values(t, pb[i].Value()), graphtest.Values(t, pa[i].Value()), 0)
	}
	if a.Steps() != 3 || b.Steps() != 3 {
		t.Errorf("Steps() = %d, %d; want 3, 3", a.Steps(), b.Steps())
	}

	// Resetting to an empty state starts over.
	if err := b.SetState(train.AdamWState{}); err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s.Step != 0 || s.M != nil {
		t.Errorf("after reset State() = %+v", s)
	}
}

func TestAdamWErrors(t *testing.T) {
	w := func() *fakeParam { return param(dense64([]int{2, 2}, 1, 2, 3, 4), dense64([]int{2, 2}, 1, 1, 1, 1)) }
	tests := []struct {
		name   string
		second *fakeParam
		want   string
	}{
		{"missing gradient", &fakeParam{v: dense64([]int{2}, 1, 2)}, "no gradient"},
		{"shape mismatch", param(dense64([]int{2}, 1, 2), dense64([]int{1, 2}, 1, 2)), "gradient has shape (1, 2), want (2)"},
		{"dtype mismatch", param(dense64([]int{2}, 1, 2), dense32([]int{2}, 1, 2)), "gradient has dtype float32, want float64"},
		{"int value", param(tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{1, 2})), dense64([]int{2}, 1, 2)), "dtype int not supported"},
		{"nil value", &fakeParam{v: nil, g: dense64([]int{2}, 1, 2)}, "value is nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt, _ := train.NewAdamW(testConfig())
			first := w()
			err := opt.Step([]gorgonia.ValueGrad{first, tc.second}, 0.1)
			want := "train: AdamW step 1: parameter 1: " + tc.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v, want it to contain %q", err, want)
			}
			// Nothing changed, not even the valid first parameter.
			assertClose(t, "first value", graphtest.Values(t, first.v), []float64{1, 2, 3, 4}, 0)
			assertClose(t, "first grad", graphtest.Values(t, first.g), []float64{1, 1, 1, 1}, 0)
			if opt.Steps() != 0 || opt.State().M != nil {
				t.Errorf("state changed after failed step: %+v", opt.State())
			}
		})
	}

	t.Run("parameters change between steps", func(t *testing.T) {
		opt, _ := train.NewAdamW(testConfig())
		if err := opt.Step([]gorgonia.ValueGrad{w()}, 0.1); err != nil {
			t.Fatal(err)
		}
		err := opt.Step([]gorgonia.ValueGrad{w(), w()}, 0.1)
		if err == nil || !strings.Contains(err.Error(), "step 2: state holds 1 parameters, got 2") {
			t.Errorf("count change: error = %v", err)
		}
		other := param(dense64([]int{4}, 1, 2, 3, 4), dense64([]int{4}, 1, 1, 1, 1))
		err = opt.Step([]gorgonia.ValueGrad{other}, 0.1)
		if err == nil || !strings.Contains(err.Error(), "step 2: parameter 0: first moment has shape (2, 2), want (4)") {
			t.Errorf("shape change: error = %v", err)
		}
	})

	t.Run("learning rate", func(t *testing.T) {
		opt, _ := train.NewAdamW(testConfig())
		for _, lr := range []float64{-1, math.NaN(), math.Inf(1)} {
			if err := opt.Step([]gorgonia.ValueGrad{w()}, lr); err == nil {
				t.Errorf("Step(lr=%v) succeeded", lr)
			}
		}
		if err := opt.Step(nil, 0.1); err == nil {
			t.Error("Step(no parameters) succeeded")
		}
	})
}

func TestAdamWConfigValidate(t *testing.T) {
	ok := train.DefaultAdamW()
	if ok != (train.AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}) {
		t.Errorf("DefaultAdamW() = %+v", ok)
	}
	tests := []struct {
		name    string
		edit    func(*train.AdamWConfig)
		wantErr string
	}{
		{"default", func(*train.AdamWConfig) {}, ""},
		{"beta1 zero is allowed", func(c *train.AdamWConfig) { c.Beta1 = 0 }, ""},
		{"zero value", func(c *train.AdamWConfig) { *c = train.AdamWConfig{} }, "Eps 0 must be finite and > 0"},
		{"beta1 one", func(c *train.AdamWConfig) { c.Beta1 = 1 }, "Beta1 1 must be in [0, 1)"},
		{"beta2 negative", func(c *train.AdamWConfig) { c.Beta2 = -0.1 }, "Beta2 -0.1 must be in [0, 1)"},
		{"beta2 NaN", func(c *train.AdamWConfig) { c.Beta2 = math.NaN() }, "Beta2 NaN"},
		{"negative lr", func(c *train.AdamWConfig) { c.LR = -1 }, "LR -1"},
		{"negative decay", func(c *train.AdamWConfig) { c.WeightDecay = -0.1 }, "WeightDecay -0.1"},
		{"infinite eps", func(c *train.AdamWConfig) { c.Eps = math.Inf(1) }, "Eps +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := train.DefaultAdamW()
			tc.edit(&c)
			_, err := train.NewAdamW(c)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("NewAdamW(%+v) = %v", c, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("NewAdamW(%+v) error = %v, want %q", c, err, tc.wantErr)
			}
		})
	}
}

func TestAdamWSetStateErrors(t *testing.T) {
	m := func(data ...float64) *tensor.Dense { return dense64([]int{len(data)}, data...) }
	tests := []struct {
		name string
		s    train.AdamWState
		want string
	}{
		{"negative step", train.AdamWState{Step: -1}, "step -1 is negative"},
		{"count mismatch", train.AdamWState{Step: 1, M: []*tensor.Dense{m(1)}}, "1 first moments but 0 second moments"},
		{"moments before first step", train.AdamWState{M: []*tensor.Dense{m(1)}, V: []*tensor.Dense{m(1)}}, "step 0 with 1 moments"},
		{"no moments", train.AdamWState{Step: 3}, "step 3 without moments"},
		{"nil moment", train.AdamWState{Step: 1, M: []*tensor.Dense{nil}, V: []*tensor.Dense{m(1)}}, "parameter 0: value is nil"},
		{"shape mismatch", train.AdamWState{Step: 1, M: []*tensor.Dense{m(1, 2)}, V: []*tensor.Dense{m(1)}}, "second moment has shape (1), want (2)"},
		{"negative v", train.AdamWState{Step: 1, M: []*tensor.Dense{m(1)}, V: []*tensor.Dense{m(-1)}}, "second moment element 0 is -1"},
		{"NaN m", train.AdamWState{Step: 1, M: []*tensor.Dense{m(math.NaN())}, V: []*tensor.Dense{m(1)}}, "first moment element 0 is NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt, _ := train.NewAdamW(testConfig())
			err := opt.SetState(tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetState error = %v, want %q", err, tc.want)
			}
		})
	}
}

// quadraticGraph builds loss = Σ (w − 3)² for a 2×2 float64 w.
func quadraticGraph(t testing.TB) (m gorgonia.VM, w, loss *gorgonia.Node) {
	g := gorgonia.NewGraph()
	w = gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 2), gorgonia.WithName("w"),
		gorgonia.WithValue(dense64([]int{2, 2}, 0, 1, -1, 5)))
	diff := gorgonia.Must(gorgonia.Sub(w, gorgonia.NewConstant(3.0)))
	loss = gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(diff))))
	if _, err := gorgonia.Grad(loss, w); err != nil {
		t.Fatal(err)
	}
	return gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w)), w, loss
}

// A real Gorgonia training loop: unlike Gorgonia's own AdamW, this one moves
// the weights, and because Step zeroes gradients they do not pile up.
func TestAdamWTrainsGorgoniaGraph(t *testing.T) {
	m, w, loss := quadraticGraph(t)
	defer m.Close()
	cfg := train.DefaultAdamW()
	cfg.WeightDecay = 0 // decay would pull the optimum away from 3
	opt, err := train.NewAdamW(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched := train.CosineSchedule{MaxLR: 0.3, MinLR: 0.001, WarmupSteps: 5, DecaySteps: 200}
	params := gorgonia.NodesToValueGrads(gorgonia.Nodes{w})
	var first, last float64
	for step := 0; step <= 200; step++ {
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		last = loss.Value().Data().(float64)
		if step == 0 {
			first = last
		}
		if err := opt.Step(params, sched.LR(step)); err != nil {
			t.Fatal(err)
		}
		m.Reset()
	}
	if first != 33 { // (0−3)² + (1−3)² + (−1−3)² + (5−3)² = 9 + 4 + 16 + 4
		t.Errorf("initial loss = %v, want 33", first)
	}
	if last > 1e-6 {
		t.Errorf("final loss = %g, want < 1e-6", last)
	}
	assertClose(t, "w", graphtest.Values(t, w.Value()), []float64{3, 3, 3, 3}, 1e-3)
}

// ExampleAdamW trains w to minimise Σ(w − 3)² with a Gorgonia tape machine.
func ExampleAdamW() {
	g := gorgonia.NewGraph()
	w := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 2), gorgonia.WithName("w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{0, 1, -1, 5}))))
	diff := gorgonia.Must(gorgonia.Sub(w, gorgonia.NewConstant(3.0)))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(diff))))
	params := gorgonia.Nodes{w}
	if _, err := gorgonia.Grad(loss, params...); err != nil {
		fmt.Println("error:", err)
		return
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(params...))
	defer m.Close()

	cfg := train.DefaultAdamW()
	cfg.LR, cfg.WeightDecay = 0.3, 0
	opt, err := train.NewAdamW(cfg)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	sched := train.CosineSchedule{MaxLR: cfg.LR, MinLR: 0.001, WarmupSteps: 5, DecaySteps: 200}
	for step := 0; step <= 200; step++ {
		if err := m.RunAll(); err != nil {
			fmt.Println("error:", err)
			return
		}
		if step%100 == 0 {
			fmt.Printf("step %3d loss %.4f\n", step, loss.Value().Data())
		}
		if err := opt.Step(gorgonia.NodesToValueGrads(params), sched.LR(step)); err != nil {
			fmt.Println("error:", err)
			return
		}
		m.Reset()
	}
	fmt.Printf("w = %.3f\n", w.Value().Data())
	// Output:
	// step   0 loss 33.0000
	// step 100 loss 0.0002
	// step 200 loss 0.0000
	// w = [3.000 3.000 3.000 3.000]
}

func TestClipGradNorm(t *testing.T) {
	// Gradients [3, 4] and [[12]]: global norm √(9 + 16 + 144) = 13.
	coef := func(maxNorm float64) float64 { return maxNorm / (13 + 1e-6) }
	tests := []struct {
		name    string
		maxNorm float64
		scale   float64 // expected factor applied to the gradients
	}{
		{"clips to half", 6.5, coef(6.5)},
		{"clips to one", 1, coef(1)},
		{"below max unchanged", 20, 1},
		{"at max scales by 13/13.000001", 13, coef(13)}, // like PyTorch
		{"zero means no clipping", 0, 1},
		{"negative means no clipping", -1, 1},
		{"infinite means no clipping", math.Inf(1), 1},
	}
	for _, tc := range tests {
		for _, mk := range []struct {
			name string
			f    func([]int, ...float64) *tensor.Dense
			tol  float64
		}{{"float64", dense64, 1e-15}, {"float32", dense32, 1e-7}} {
			t.Run(tc.name+"/"+mk.name, func(t *testing.T) {
				a := param(mk.f([]int{2}, 0, 0), mk.f([]int{2}, 3, 4))
				b := param(dense64([]int{1, 1}, 0), dense64([]int{1, 1}, 12)) // mixed dtypes are fine
				norm, err := train.ClipGradNorm([]gorgonia.ValueGrad{a, b}, tc.maxNorm)
				if err != nil {
					t.Fatal(err)
				}
				if norm != 13 {
					t.Errorf("norm = %.17g, want 13", norm)
				}
				assertClose(t, "a", graphtest.Values(t, a.g), []float64{3 * tc.scale, 4 * tc.scale}, mk.tol)
				assertClose(t, "b", graphtest.Values(t, b.g), []float64{12 * tc.scale}, 1e-15)
				if tc.scale < 1 {
					clipped := math.Hypot(math.Hypot(graphtest.Values(t, a.g)[0], graphtest.Values(t, a.g)[1]), graphtest.Values(t, b.g)[0])
					if clipped > tc.maxNorm {
						t.Errorf("norm after clipping %.17g > %v", clipped, tc.maxNorm)
					}
				}
			})
		}
	}
}

func TestClipGradNormLargeFinite(t *testing.T) {
	// 1e200² overflows float64, the norm √2·1e200 does not.
	g := param(dense64([]int{2}, 0, 0), dense64([]int{2}, 1e200, -1e200))
	norm, err := train.ClipGradNorm([]gorgonia.ValueGrad{g}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt2 * 1e200; math.Abs(norm-want) > 1e-15*want {
		t.Errorf("norm = %g, want %g", norm, want)
	}
	assertClose(t, "clipped", graphtest.Values(t, g.g), []float64{1 / math.Sqrt2, -1 / math.Sqrt2}, 1e-12)
}

func TestClipGradNormNonFinite(t *testing.T) {
	tests := []struct {
		name string
		bad  []float64
		want string
	}{
		{"NaN", []float64{1, math.NaN()}, "parameter 1 has a NaN or Inf gradient"},
		{"+Inf", []float64{math.Inf(1), 1}, "parameter 1 has a NaN or Inf gradient"},
		{"-Inf", []float64{math.Inf(-1), 1}, "parameter 1 has a NaN or Inf gradient"},
		{"norm overflows", []float64{math.MaxFloat64, math.MaxFloat64}, "gradient norm overflows float64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := param(dense64([]int{2}, 0, 0), dense64([]int{2}, 3, 4))
			bad := param(dense64([]int{2}, 0, 0), dense64([]int{2}, tc.bad...))
			norm, err := train.ClipGradNorm([]gorgonia.ValueGrad{good, bad}, 1)
			if !errors.Is(err, train.ErrNonFinite) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want ErrNonFinite containing %q", err, tc.want)
			}
			if isFinite := !math.IsNaN(norm) && !math.IsInf(norm, 0); isFinite {
				t.Errorf("norm = %v, want NaN or Inf", norm)
			}
			assertClose(t, "good gradient untouched", graphtest.Values(t, good.g), []float64{3, 4}, 0)
		})
	}
	t.Run("missing gradient is not ErrNonFinite", func(t *testing.T) {
		_, err := train.ClipGradNorm([]gorgonia.ValueGrad{&fakeParam{v: dense64([]int{1}, 0)}}, 1)
		if err == nil || errors.Is(err, train.ErrNonFinite) || !strings.Contains(err.Error(), "parameter 0: no gradient") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("NaN maxNorm", func(t *testing.T) {
		if _, err := train.ClipGradNorm(nil, math.NaN()); err == nil {
			t.Error("no error")
		}
	})
}

func ExampleClipGradNorm() {
	g := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{3, 4}))
	p := &fakeParam{v: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0, 0})), g: g}
	norm, err := train.ClipGradNorm([]gorgonia.ValueGrad{p}, 1)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Printf("norm %.1f, clipped gradient %.4f\n", norm, g.Data())

	g.Data().([]float64)[0] = math.NaN()
	_, err = train.ClipGradNorm([]gorgonia.ValueGrad{p}, 1)
	fmt.Println(errors.Is(err, train.ErrNonFinite))
	// Output:
	// norm 5.0, clipped gradient [0.6000 0.8000]
	// true
}
