package layers_test

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// buildOps13Layer builds the layer of a golden case under the name "l" and returns it
// with its learnables by the case's names ("weight", "fc.weight", …).
func buildOps13Layer(t *testing.T, g *G.ExprGraph, c *graphtest.Case, dt tensor.Dtype) (layers.Layer, map[string]*G.Node) {
	t.Helper()
	var kind string
	var width int
	c.Setting(t, "kind", &kind)
	c.Setting(t, "width", &width)
	var l layers.Layer
	var err error
	switch kind {
	case "rmsnorm":
		var gain bool
		var eps float64
		c.Setting(t, "gain", &gain)
		c.Setting(t, "eps", &eps)
		var n *layers.RMSNorm
		if n, err = layers.NewRMSNorm(g, "l", width, gain, layers.WithDtype(dt)); err == nil {
			n.Eps = eps
		}
		l = n
	case "mlp":
		var cfg layers.MLPConfig
		c.Setting(t, "act", &cfg.Act)
		c.Setting(t, "hidden", &cfg.Hidden)
		c.Setting(t, "bias", &cfg.Bias)
		cfg.Width = width
		l, err = layers.NewMLPWith(g, "l", cfg, nil, layers.WithDtype(dt))
	default:
		t.Fatalf("%s: unknown kind %q", c.Name, kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]*G.Node{}
	for _, n := range l.Learnables() {
		params[strings.TrimPrefix(n.Name(), "l.")] = n
	}
	return l, params
}

// TestOps13Golden rebuilds every PyTorch float64 case of testdata/ops13 (written by
// scripts/golden/gen_ops13.py; $OPS13_LAYERS_DIR, when set, names another directory)
// with RMSNorm and the three MLPs, in float64 and float32, with the case's weights, and
// checks the output and the gradients of Σ out ⊙ r with respect to x and every
// learnable: within 1e-12 (float64) and 1e-5 (float32) of PyTorch's, as |got − want| /
// max(1, |want|). The layer's learnables must be exactly the case's weights, by name
// and shape. A missing or empty directory fails.
func TestOps13Golden(t *testing.T) {
	cases := graphtest.LoadCases(t, graphtest.CaseDir("OPS13_LAYERS_DIR", filepath.Join("testdata", "ops13")))
	worst := graphtest.NewWorst()
	kinds := map[string]bool{}
	for _, c := range cases {
		var kind string
		c.Setting(t, "kind", &kind)
		if kind == "mlp" {
			var act string
			c.Setting(t, "act", &act)
			kind += "/" + act
		}
		kinds[kind] = true
		graphtest.RunCase(t, c, func(t *testing.T, dt tensor.Dtype, tol float64) {
			g := G.NewGraph()
			l, params := buildOps13Layer(t, g, c, dt)
			if len(params)+1 != len(c.Inputs) {
				t.Fatalf("layer learnables %v; the case has inputs %v", graphtest.SortedKeys(params), graphtest.SortedKeys(c.Inputs))
			}
			wrt := G.Nodes{}
			names := []string{"x"}
			x := graphtest.Input(g, dt, "x", c.Inputs["x"].TensorShape(), c.Inputs["x"].Data)
			wrt = append(wrt, x)
			for _, n := range l.Learnables() {
				k := strings.TrimPrefix(n.Name(), "l.")
				a, ok := c.Inputs[k]
				if !ok || !n.Shape().Eq(a.TensorShape()) {
					t.Fatalf("learnable %q is %v; the case has %v", n.Name(), n.Shape(), a.Shape)
				}
				if err := G.Let(n, graphtest.DenseOf(dt, a.TensorShape(), a.Data)); err != nil {
					t.Fatal(err)
				}
				wrt, names = append(wrt, n), append(names, k)
			}
			out := graphtest.Must(t)(l.Forward(x))
			if !out.Shape().Eq(c.Out.TensorShape()) {
				t.Fatalf("out is %v; want %v", out.Shape(), c.Out.Shape)
			}
			r := graphtest.Input(g, dt, "r", c.R.TensorShape(), c.R.Data)
			grads, err := G.Grad(graphtest.WeightedSum(t, out, r), wrt...)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			worst.Check(t, dt, c, "out", out, c.Out, tol)
			for i, k := range names {
				worst.Check(t, dt, c, "grad "+k, grads[i], c.Grads[k], tol)
			}
		})
	}
	for _, k := range []string{"rmsnorm", "mlp/gelu", "mlp/swiglu", "mlp/relu2"} {
		if !kinds[k] {
			t.Errorf("no golden case of %s", k)
		}
	}
	worst.Log(t, len(cases))
}

// LlamaHidden against the FFN widths of Meta's released Llama models (intermediate_size
// of 7B, 13B, 33B, 65B: multiple_of 256, no ffn_dim_multiplier), and rounding.
func TestLlamaHidden(t *testing.T) {
	for _, c := range []struct{ width, multiple, want int }{
		{4096, 256, 11008}, {5120, 256, 13824}, {6656, 256, 17920}, {8192, 256, 22016},
		{4, 2, 10}, // ⌊32/3⌋ = 10 is already even: floor first, then round up (not 12)
		{6, 4, 16}, {6, 1, 16}, {4, 1, 10}, {3, 5, 10}, {1, 1, 2},
		{0, 256, 0}, {-4, 256, 0}, {4096, 0, 0},
	} {
		if got := layers.LlamaHidden(c.width, c.multiple); got != c.want {
			t.Errorf("LlamaHidden(%d, %d) = %d; want %d", c.width, c.multiple, got, c.want)
		}
	}
}

// NewMLP is NewMLPWith of the GELU config: the same learnables, names, order, shapes and
// values, and the same output.
func TestNewMLPIsGELUConfig(t *testing.T) {
	for _, bias := range []bool{false, true} {
		g := G.NewGraph()
		a, err := layers.NewMLP(g, "a.mlp", 6, bias, layers.Normal(0.01), layers.WithDtype(tensor.Float64), layers.WithSeed(3))
		if err != nil {
			t.Fatal(err)
		}
		h := G.NewGraph()
		b, err := layers.NewMLPWith(h, "a.mlp", layers.MLPConfig{Width: 6, Bias: bias}, layers.Normal(0.01), layers.WithDtype(tensor.Float64), layers.WithSeed(3))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a.mlp.fc.weight", "a.mlp.proj.weight"}
		if bias {
			want = []string{"a.mlp.fc.weight", "a.mlp.fc.bias", "a.mlp.proj.weight", "a.mlp.proj.bias"}
		}
		la, lb := a.Learnables(), b.Learnables()
		if got := names(la); !slices.Equal(got, want) || !slices.Equal(names(lb), want) {
			t.Fatalf("learnables %v and %v; want %v", got, names(lb), want)
		}
		if a.Act != layers.ActGELU || b.Act != layers.ActGELU || a.Hidden != 24 || b.Hidden != 24 || a.FC.W.Shape()[1] != 24 || a.Proj.W.Shape()[0] != 24 {
			t.Fatalf("acts %q, %q, hidden %d, %d; want gelu, 24", a.Act, b.Act, a.Hidden, b.Hidden)
		}
		for i := range la {
			if !slices.Equal(graphtest.Floats(la[i]), graphtest.Floats(lb[i])) {
				t.Errorf("%s differs", la[i].Name())
			}
		}
		xs := graphtest.Normals(newRand(7), 2*3*6, 1)
		ya := graphtest.Must(t)(a.Forward(graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3, 6}, xs)))
		yb := graphtest.Must(t)(b.Forward(graphtest.Input(h, tensor.Float64, "x", tensor.Shape{2, 3, 6}, xs)))
		graphtest.RunGraph(t, g)
		graphtest.RunGraph(t, h)
		if !slices.Equal(graphtest.Floats(ya), graphtest.Floats(yb)) {
			t.Errorf("outputs differ")
		}
	}
}

func names(ns G.Nodes) []string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name()
	}
	return s
}

// The learnables of each MLP variant and of RMSNorm: names, order, shapes, initial
// values (projInit for proj only; gains at 1).
func TestOps13Learnables(t *testing.T) {
	for _, c := range []struct {
		cfg    layers.MLPConfig
		names  []string
		shapes [][]int
	}{
		{layers.MLPConfig{Width: 6, Act: layers.ActSwiGLU}, []string{"m.gate.weight", "m.up.weight", "m.proj.weight"}, [][]int{{6, 16}, {6, 16}, {16, 6}}},
		{layers.MLPConfig{Width: 4, Hidden: 7, Bias: true, Act: layers.ActSwiGLU}, []string{"m.gate.weight", "m.gate.bias", "m.up.weight", "m.up.bias", "m.proj.weight", "m.proj.bias"}, [][]int{{4, 7}, {7}, {4, 7}, {7}, {7, 4}, {4}}},
		{layers.MLPConfig{Width: 5, Act: layers.ActReLU2}, []string{"m.fc.weight", "m.proj.weight"}, [][]int{{5, 20}, {20, 5}}},
		{layers.MLPConfig{Width: 5, Hidden: 3, Act: layers.ActReLU2, Bias: true}, []string{"m.fc.weight", "m.fc.bias", "m.proj.weight", "m.proj.bias"}, [][]int{{5, 3}, {3}, {3, 5}, {5}}},
	} {
		m, err := layers.NewMLPWith(G.NewGraph(), "m", c.cfg, layers.Constant(0.5))
		if err != nil {
			t.Fatal(err)
		}
		ls := m.Learnables()
		if got := names(ls); !slices.Equal(got, c.names) {
			t.Errorf("%+v: learnables %v; want %v", c.cfg, got, c.names)
			continue
		}
		for i, n := range ls {
			if !slices.Equal([]int(n.Shape()), c.shapes[i]) || n.Dtype() != tensor.Float32 {
				t.Errorf("%s is %v %v; want float32 %v", n.Name(), n.Dtype(), n.Shape(), c.shapes[i])
			}
			v := graphtest.Floats(n)
			switch {
			case strings.HasSuffix(n.Name(), ".bias"):
				if slices.Max(v) != 0 || slices.Min(v) != 0 {
					t.Errorf("%s does not start at 0", n.Name())
				}
			case n.Name() == "m.proj.weight":
				if slices.Max(v) != 0.5 || slices.Min(v) != 0.5 {
					t.Errorf("%s does not start at projInit's 0.5", n.Name())
				}
			default:
				in := float64(n.Shape()[0])
				if b := slices.Max(v); b == 0.5 || b > float32Bound(in) {
					t.Errorf("%s: max %v; want nn.Linear's U(±1/√%v)", n.Name(), b, in)
				}
			}
		}
	}
	n, err := layers.NewRMSNorm(G.NewGraph(), "blocks.0.norm", 5, true, layers.WithDtype(tensor.Float64))
	if err != nil {
		t.Fatal(err)
	}
	if ls := n.Learnables(); len(ls) != 1 || ls[0].Name() != "blocks.0.norm.weight" || !slices.Equal(graphtest.Floats(ls[0]), []float64{1, 1, 1, 1, 1}) || ls[0].Dtype() != tensor.Float64 {
		t.Errorf("RMSNorm learnables %v; want blocks.0.norm.weight, float64 ones (5)", ls)
	}
	if n.Eps != 1e-5 {
		t.Errorf("RMSNorm eps %v; want 1e-5", n.Eps)
	}
	free, err := layers.NewRMSNorm(G.NewGraph(), "norm", 5, false)
	if err != nil {
		t.Fatal(err)
	}
	if ls := free.Learnables(); len(ls) != 0 || free.Gain != nil {
		t.Errorf("parameter-free RMSNorm has learnables %v", ls)
	}
}

func float32Bound(in float64) float64 { return 1 / math.Sqrt(in) * (1 + 1e-6) }

// Bad configurations and inputs give one error naming the layer (or the dotted
// learnable of it that failed), wrapping the right sentinel.
func TestOps13BadConfig(t *testing.T) {
	mlp := func(cfg layers.MLPConfig) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error { _, err := layers.NewMLPWith(g, "m", cfg, nil); return err }
	}
	rms := func(name string, width int, opts ...layers.Option) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error { _, err := layers.NewRMSNorm(g, name, width, true, opts...); return err }
	}
	rmsForward := func(dt tensor.Dtype, shape tensor.Shape, eps float64) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			n, err := layers.NewRMSNorm(g, "norm", 4, false)
			if err != nil {
				return err
			}
			n.Eps = eps
			_, err = n.Forward(graphtest.Input(g, dt, "x", shape, nil))
			return err
		}
	}
	mlpForward := func(act string, dt tensor.Dtype, shape tensor.Shape) func(g *G.ExprGraph) error {
		return func(g *G.ExprGraph) error {
			m, err := layers.NewMLPWith(g, "m", layers.MLPConfig{Width: 4, Act: act}, nil)
			if err != nil {
				return err
			}
			_, err = m.Forward(graphtest.Input(g, dt, "x", shape, nil))
			return err
		}
	}
	cases := []graphtest.BadCase{
		{Name: "MLP: nil graph", Want: layers.ErrConfig, Build: func(*G.ExprGraph) error {
			_, err := layers.NewMLPWith(nil, "m", layers.MLPConfig{Width: 4}, nil)
			return err
		}},
		{Name: "MLP: empty name", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			_, err := layers.NewMLPWith(g, "", layers.MLPConfig{Width: 4}, nil)
			return err
		}},
		{Name: "MLP: width 0", Want: layers.ErrConfig, Build: mlp(layers.MLPConfig{Act: layers.ActSwiGLU})},
		{Name: "MLP: negative width", Want: layers.ErrConfig, Build: mlp(layers.MLPConfig{Width: -4})},
		{Name: "MLP: negative hidden", Want: layers.ErrConfig, Build: mlp(layers.MLPConfig{Width: 4, Hidden: -1, Act: layers.ActReLU2})},
		{Name: "MLP: unknown activation", Want: layers.ErrConfig, Build: mlp(layers.MLPConfig{Width: 4, Act: "tanh"})},
		{Name: "MLP: activation in capitals", Want: layers.ErrConfig, Build: mlp(layers.MLPConfig{Width: 4, Act: "SwiGLU"})},
		{Name: "MLP: float16", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			_, err := layers.NewMLPWith(g, "m", layers.MLPConfig{Width: 4, Act: layers.ActSwiGLU}, nil, layers.WithDtype(tensor.Int))
			return err
		}},
		{Name: "MLP: name taken", Want: layers.ErrConfig, Build: func(g *G.ExprGraph) error {
			if _, err := layers.NewMLPWith(g, "m", layers.MLPConfig{Width: 4, Act: layers.ActSwiGLU}, nil); err != nil {
				return err
			}
			_, err := layers.NewMLPWith(g, "m", layers.MLPConfig{Width: 4, Act: layers.ActSwiGLU}, nil)
			return err
		}},
		{Name: "MLP: swiglu input of the wrong width", Want: attend.ErrShape, Build: mlpForward(layers.ActSwiGLU, tensor.Float32, tensor.Shape{2, 5})},
		{Name: "MLP: relu2 input of the wrong dtype", Want: attend.ErrDtype, Build: mlpForward(layers.ActReLU2, tensor.Float64, tensor.Shape{2, 4})},
		{Name: "MLP: swiglu nil input", Want: attend.ErrArgument, Build: func(g *G.ExprGraph) error {
			m, err := layers.NewMLPWith(g, "m", layers.MLPConfig{Width: 4, Act: layers.ActSwiGLU}, nil)
			if err != nil {
				return err
			}
			_, err = m.Forward(nil)
			return err
		}},
		{Name: "RMSNorm: nil graph", Want: layers.ErrConfig, Build: func(*G.ExprGraph) error {
			_, err := layers.NewRMSNorm(nil, "norm", 4, false)
			return err
		}},
		{Name: "RMSNorm: empty name", Want: layers.ErrConfig, Build: rms("", 4)},
		{Name: "RMSNorm: width 0", Want: layers.ErrConfig, Build: rms("norm", 0)},
		{Name: "RMSNorm: int dtype", Want: layers.ErrConfig, Build: rms("norm", 4, layers.WithDtype(tensor.Int))},
		{Name: "RMSNorm: input of the wrong width", Want: attend.ErrShape, Build: rmsForward(tensor.Float32, tensor.Shape{3, 5}, 1e-5)},
		{Name: "RMSNorm: 4-D input", Want: attend.ErrShape, Build: rmsForward(tensor.Float32, tensor.Shape{1, 2, 3, 4}, 1e-5)},
		{Name: "RMSNorm: input of the wrong dtype", Want: attend.ErrDtype, Build: rmsForward(tensor.Float64, tensor.Shape{3, 4}, 1e-5)},
		{Name: "RMSNorm: eps 0", Want: attend.ErrArgument, Build: rmsForward(tensor.Float32, tensor.Shape{3, 4}, 0)},
		{Name: "RMSNorm: eps NaN", Want: attend.ErrArgument, Build: rmsForward(tensor.Float32, tensor.Shape{3, 4}, math.NaN())},
	}
	graphtest.RunBadCases(t, cases)
	for _, c := range cases {
		err := graphtest.NoPanic(func() error { return c.Build(G.NewGraph()) })
		layer := strings.SplitN(c.Name, ":", 2)[0]
		if err == nil || strings.Count(err.Error(), "layers: ") != 1 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q; want one line saying \"layers: \" once", c.Name, err)
		} else if !strings.Contains(err.Error(), "layers: "+layer) && !strings.Contains(err.Error(), `"m.`) {
			t.Errorf("%s: error %q does not name the %s", c.Name, err, layer)
		}
		if errors.Is(err, attend.ErrShape) && !strings.Contains(err.Error(), "(") {
			t.Errorf("%s: shape error %q gives no shapes", c.Name, err)
		}
	}
}
