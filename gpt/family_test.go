package gpt_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/internal/graphtest"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/safetensors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFamiliesMatchPyTorch: for every family's architecture (nanoGPT's GPT, Llama,
// nanochat) at a tiny size, the float64 loss of one batch and the gradient of every
// learnable equal PyTorch's (scripts/parity/torch_arch.py, an independent model written
// from the Llama and nanochat references) within 1e-9, from the same weights
// (gpt/testdata/arch, written by scripts/parity/archdump).
func TestFamiliesMatchPyTorch(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "arch", "*", "case.json"))
	if len(dirs) < len(gpt.Families()) {
		t.Fatalf("%d cases in testdata/arch; want one per family %v", len(dirs), gpt.Families())
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var c struct {
				Config gpt.Config `json:"config"`
				X, Y   [][]int
			}
			filetest.ReadJSON(t, path, &c)
			var want struct{ Loss float64 }
			filetest.ReadJSON(t, filepath.Join(dir, "torch.json"), &want)
			weights := readTensors(t, filepath.Join(dir, "model.safetensors"))
			grads := readTensors(t, filepath.Join(dir, "torch_grads.safetensors"))

			g := G.NewGraph()
			m, err := gpt.New(g, c.Config, layers.WithDtype(tensor.Float64))
			if err != nil {
				t.Fatal(err)
			}
			params := m.Learnables()
			if len(params) != len(weights) {
				t.Fatalf("the model has %d learnables, the case %d", len(params), len(weights))
			}
			for _, p := range params {
				w, ok := weights[p.Name()]
				if !ok || !w.Shape().Eq(p.Shape()) {
					t.Fatalf("no weight %s %v in the case", p.Name(), p.Shape())
				}
				if err := G.Let(p, w); err != nil {
					t.Fatal(err)
				}
			}
			b, tt := len(c.X), len(c.X[0])
			flat := func(rows [][]int) []int {
				var f []int
				for _, r := range rows {
					f = append(f, r...)
				}
				return f
			}
			x := graphtest.IntInput(g, "x", tensor.Shape{b, tt}, flat(c.X))
			y := graphtest.IntInput(g, "y", tensor.Shape{b, tt}, flat(c.Y))
			_, loss := graphtest.LMLoss(t, m, x, y)
			dw, err := G.Grad(loss, params...)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := graph.NewProgram(append(G.Nodes{loss}, dw...)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }
			l, _ := num.Float64s(prog.Value(loss))
			if !close(l[0], want.Loss) {
				t.Errorf("loss %.17g; PyTorch %.17g", l[0], want.Loss)
			}
			worst := 0.0
			for i, p := range params {
				got, err := num.Float64s(prog.Value(dw[i]))
				if err != nil {
					t.Fatal(err)
				}
				ref := grads[p.Name()].Data().([]float64)
				for j := range ref {
					if !close(got[j], ref[j]) {
						t.Fatalf("d loss/d %s[%d] = %.17g; PyTorch %.17g", p.Name(), j, got[j], ref[j])
					}
					worst = math.Max(worst, math.Abs(got[j]-ref[j])/math.Max(1, math.Abs(ref[j])))
				}
			}
			t.Logf("%s: loss %.12f (PyTorch %.12f), %d gradients, worst error %.2g", c.Config.Norm, l[0], want.Loss, len(params), worst)
		})
	}
}

func readTensors(t *testing.T, path string) map[string]*tensor.Dense {
	t.Helper()
	ts, _, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*tensor.Dense{}
	for _, nt := range ts {
		m[nt.Name] = nt.T
	}
	return m
}
