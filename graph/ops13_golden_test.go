package graph_test

import (
	"path/filepath"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ops13Inputs are the inputs of each op of the decoder building blocks, in argument
// order; the optional ones (RMSNorm's gain) may be absent from a case.
var ops13Inputs = map[string]struct{ required, optional []string }{
	"rmsnorm": {required: []string{"x"}, optional: []string{"gain"}},
	"silu":    {required: []string{"x"}},
	"swiglu":  {required: []string{"a", "b"}},
	"relu2":   {required: []string{"x"}},
	"softcap": {required: []string{"z"}},
}

// buildOps13 applies the case's op to its input nodes.
func buildOps13(t *testing.T, c *graphtest.Case, in map[string]*G.Node) (*G.Node, error) {
	var op string
	c.Setting(t, "op", &op)
	switch op {
	case "rmsnorm":
		var eps float64
		c.Setting(t, "eps", &eps)
		return graph.RMSNorm(in["x"], in["gain"], eps)
	case "silu":
		return graph.SiLU(in["x"])
	case "swiglu":
		return graph.SwiGLU(in["a"], in["b"])
	case "relu2":
		return graph.ReLUSquared(in["x"])
	case "softcap":
		var cap float64
		c.Setting(t, "c", &cap)
		return graph.SoftCap(in["z"], cap)
	}
	t.Fatalf("%s: unknown op %q", c.Name, op)
	return nil, nil
}

// TestOps13Golden rebuilds every PyTorch float64 case of testdata/ops13 (written by
// scripts/golden/gen_ops13.py; $OPS13_DIR, when set, names another directory) with
// RMSNorm, SiLU, SwiGLU, ReLUSquared and SoftCap, in float64 and float32, and checks
// the output and the gradient of Σ out ⊙ r with respect to every input: every number
// within 1e-12 (float64) and 1e-5 (float32) of PyTorch's, as |got − want| / max(1,
// |want|). A missing or empty directory fails.
func TestOps13Golden(t *testing.T) {
	cases := graphtest.LoadCases(t, graphtest.CaseDir("OPS13_DIR", filepath.Join("testdata", "ops13")))
	seen := map[string]int{}
	worst := graphtest.NewWorst()
	for _, c := range cases {
		var op string
		c.Setting(t, "op", &op)
		seen[op]++
		spec, ok := ops13Inputs[op]
		if !ok {
			t.Fatalf("%s: unknown op %q", c.Name, op)
		}
		for _, k := range spec.required {
			if _, ok := c.Inputs[k]; !ok {
				t.Fatalf("%s: input %q missing", c.Name, k)
			}
		}
		if len(c.Inputs) > len(spec.required)+len(spec.optional) {
			t.Fatalf("%s: inputs %v; want %v and optionally %v", c.Name, graphtest.SortedKeys(c.Inputs), spec.required, spec.optional)
		}
		graphtest.RunCase(t, c, func(t *testing.T, dt tensor.Dtype, tol float64) {
			g := G.NewGraph()
			in := map[string]*G.Node{}
			var order G.Nodes
			for _, k := range append(append([]string{}, spec.required...), spec.optional...) {
				a, ok := c.Inputs[k]
				if !ok {
					continue
				}
				in[k] = graphtest.Input(g, dt, k, a.TensorShape(), a.Data)
				order = append(order, in[k])
			}
			out := graphtest.Must(t)(buildOps13(t, c, in))
			if !out.Shape().Eq(c.Out.TensorShape()) {
				t.Fatalf("out is %v; want %v", out.Shape(), c.Out.Shape)
			}
			r := graphtest.Input(g, dt, "r", c.R.TensorShape(), c.R.Data)
			grads, err := gradsOf(t, out, r, order)
			if err != nil {
				t.Fatal(err)
			}
			graphtest.RunGraph(t, g)
			worst.Check(t, dt, c, "out", out, c.Out, tol)
			for i, n := range order {
				worst.Check(t, dt, c, "grad "+n.Name(), grads[i], c.Grads[n.Name()], tol)
			}
		})
	}
	for op := range ops13Inputs {
		if seen[op] == 0 {
			t.Errorf("no golden case of %q", op)
		}
	}
	worst.Log(t, len(cases))
}

// gradsOf returns the gradients of Σ out ⊙ r with respect to wrt: by G.Grad, or, when
// out is empty (Gorgonia's own ⊙ and Σ panic on zero-size tensors), by the op's SymDiff
// with r as the output's gradient, which is what G.Grad would hand it.
func gradsOf(t *testing.T, out, r *G.Node, wrt G.Nodes) (G.Nodes, error) {
	if out.Shape().TotalSize() > 0 {
		return G.Grad(graphtest.WeightedSum(t, out, r), wrt...)
	}
	return out.Op().(G.SDOp).SymDiff(wrt, out, r)
}
