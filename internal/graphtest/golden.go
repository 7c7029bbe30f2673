package graphtest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Array is a golden array: its shape and its values, flat and row-major.
type Array struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// TensorShape is a's shape as a tensor.Shape.
func (a Array) TensorShape() tensor.Shape { return tensor.Shape(append([]int(nil), a.Shape...)) }

// Dense is a copy of a as a tensor of dtype dt (float64 or float32).
func (a Array) Dense(dt tensor.Dtype) *tensor.Dense { return DenseOf(dt, a.TensorShape(), a.Data) }

// ReadFields reads the JSON object in the file path, its fields undecoded.
func ReadFields(path string) (map[string]json.RawMessage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return fields, nil
}

// DecodeArray decodes a nested JSON array of numbers (booleans as 0/1), checking that
// it is rectangular; a bare number is a 0-dim array.
func DecodeArray(raw json.RawMessage) (Array, error) {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return Array{}, err
	}
	var a Array
	return a, flattenJSON(x, 0, &a)
}

func flattenJSON(x any, depth int, a *Array) error {
	switch v := x.(type) {
	case []any:
		if depth == len(a.Shape) {
			a.Shape = append(a.Shape, len(v))
		} else if depth > len(a.Shape) || a.Shape[depth] != len(v) {
			return fmt.Errorf("ragged array at depth %d", depth)
		}
		for _, e := range v {
			if err := flattenJSON(e, depth+1, a); err != nil {
				return err
			}
		}
	case float64:
		if depth != len(a.Shape) {
			return fmt.Errorf("number at depth %d", depth)
		}
		a.Data = append(a.Data, v)
	case bool:
		if depth != len(a.Shape) {
			return fmt.Errorf("boolean at depth %d", depth)
		}
		b := 0.0
		if v {
			b = 1
		}
		a.Data = append(a.Data, b)
	default:
		return fmt.Errorf("unexpected %T", x)
	}
	return nil
}

// CaseFiles returns the *.json files of dir in name order: an error when there is none.
func CaseFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no golden case (*.json) in %s", dir)
	}
	sort.Strings(files)
	return files, nil
}

// Case is one PyTorch reference computation written by scripts/golden/gen_ops13.py:
// inputs, the weights r of the cost Σ out ⊙ r, the output, and the gradient of that
// cost with respect to every input. Settings holds every other field ("op", "eps",
// "act", …) undecoded.
type Case struct {
	Name     string
	Inputs   map[string]Array
	R, Out   Array
	Grads    map[string]Array
	Settings map[string]json.RawMessage
}

// Setting decodes the setting key of c into dst, failing the test when it is missing or
// of the wrong type.
func (c *Case) Setting(t *testing.T, key string, dst any) {
	t.Helper()
	raw, ok := c.Settings[key]
	if !ok {
		t.Fatalf("%s: setting %q missing", c.Name, key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatalf("%s: setting %q: %v", c.Name, key, err)
	}
}

// CaseDir is the directory named by the environment variable env, or def when it is
// unset or empty: a test's golden cases, which a generator's new output can replace.
func CaseDir(env, def string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	return def
}

// LoadCases reads every *.json case of dir, in name order, and fails the test when the
// directory is missing or holds none, or when a case's arrays do not match their shapes
// or its gradients do not match its inputs one for one.
func LoadCases(t *testing.T, dir string) []*Case {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("golden directory: %v", err)
	}
	paths, err := CaseFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := make([]*Case, 0, len(paths))
	for _, p := range paths {
		fields, err := ReadFields(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &Case{Settings: map[string]json.RawMessage{}}
		dst := map[string]any{"name": &c.Name, "inputs": &c.Inputs, "r": &c.R, "out": &c.Out, "grads": &c.Grads}
		for k, v := range fields {
			d, ok := dst[k]
			if !ok {
				c.Settings[k] = v
				continue
			}
			if err := json.Unmarshal(v, d); err != nil {
				t.Fatalf("%s: field %q: %v", p, k, err)
			}
		}
		if c.Name == "" || len(c.Inputs) == 0 || c.Out.Shape == nil || c.R.Shape == nil {
			t.Fatalf("%s: need name, inputs, r and out", p)
		}
		check := func(what string, a Array) {
			size := 1
			for _, d := range a.Shape {
				size *= d
			}
			if size != len(a.Data) {
				t.Fatalf("%s: %s has shape %v but %d values", p, what, a.Shape, len(a.Data))
			}
		}
		check("r", c.R)
		check("out", c.Out)
		if !c.R.TensorShape().Eq(c.Out.TensorShape()) {
			t.Fatalf("%s: r is %v and out %v", p, c.R.Shape, c.Out.Shape)
		}
		if len(c.Grads) != len(c.Inputs) {
			t.Fatalf("%s: %d gradients for %d inputs", p, len(c.Grads), len(c.Inputs))
		}
		for k, a := range c.Inputs {
			check("input "+k, a)
			g, ok := c.Grads[k]
			if !ok {
				t.Fatalf("%s: no gradient of input %q", p, k)
			}
			check("gradient "+k, g)
			if !a.TensorShape().Eq(g.TensorShape()) {
				t.Fatalf("%s: input %q is %v but its gradient %v", p, k, a.Shape, g.Shape)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// GoldenErr returns the worst error of got against want, |got − want| / max(1, |want|)
// (absolute below 1, relative above), and its index; a NaN or a length mismatch is +Inf.
func GoldenErr(got, want []float64) (float64, int) {
	return worstOf(got, want, func(g, w float64) float64 {
		d := math.Abs(g-w) / math.Max(1, math.Abs(w))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		return d
	})
}

// RelAbsErr returns the largest min(absolute, relative) error of got against want and
// its index; a NaN difference or a length mismatch (index 0) is +Inf.
func RelAbsErr(got, want []float64) (float64, int) {
	if len(got) != len(want) {
		return math.Inf(1), 0
	}
	return worstOf(got, want, func(g, w float64) float64 {
		d := math.Abs(g - w)
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		return math.Min(d, d/math.Abs(w))
	})
}

// worstOf returns the largest err(got[i], want[i]) (0 at the least) and its index, or
// (+Inf, −1) for slices of different lengths.
func worstOf(got, want []float64, err func(g, w float64) float64) (float64, int) {
	if len(got) != len(want) {
		return math.Inf(1), -1
	}
	worst, at := 0.0, 0
	for i := range got {
		if e := err(got[i], want[i]); e > worst {
			worst, at = e, i
		}
	}
	return worst, at
}

// Worst keeps a golden test's largest error per dtype and where it was.
type Worst struct {
	err   map[tensor.Dtype]float64
	where map[tensor.Dtype]string
}

// NewWorst returns an empty Worst.
func NewWorst() *Worst {
	return &Worst{err: map[tensor.Dtype]float64{}, where: map[tensor.Dtype]string{}}
}

// Check fails the test when got's value is further than tol from want (GoldenErr), and
// keeps the error as the worst of dtype dt when it is, with c and what as its place.
func (w *Worst) Check(t *testing.T, dt tensor.Dtype, c *Case, what string, got *G.Node, want Array, tol float64) {
	t.Helper()
	d, at := GoldenErr(Values(t, got.Value()), want.Data)
	if d > tol {
		t.Errorf("%s: error %.3g at %d > %g", what, d, at, tol)
	}
	if d > w.err[dt] {
		w.err[dt], w.where[dt] = d, c.Name+" "+what
	}
}

// Log logs the worst errors over n cases.
func (w *Worst) Log(t *testing.T, n int) {
	t.Helper()
	t.Logf("worst error over %d cases: float64 %.3g (%s), float32 %.3g (%s)", n,
		w.err[tensor.Float64], w.where[tensor.Float64], w.err[tensor.Float32], w.where[tensor.Float32])
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// WeightedGrads returns the gradients of the cost Σ out ⊙ r with respect to wrt: the
// cost whose gradients the golden cases hold.
func WeightedGrads(out, r *G.Node, wrt G.Nodes) (G.Nodes, error) {
	prod, err := G.HadamardProd(out, r)
	if err != nil {
		return nil, err
	}
	loss, err := G.Sum(prod)
	if err != nil {
		return nil, err
	}
	return G.Grad(loss, wrt...)
}

// RunCase runs f as a subtest of case c for float64 and for float32, with the golden
// tolerances of that dtype: 1e-12 and 1e-5 (GoldenErr).
func RunCase(t *testing.T, c *Case, f func(t *testing.T, dt tensor.Dtype, tol float64)) {
	t.Helper()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-5
		}
		t.Run(fmt.Sprintf("%s/%v", c.Name, dt), func(t *testing.T) { f(t, dt, tol) })
	}
}

// MaskOf adds a graph.NewMask input node called name to g holding the golden mask a,
// in which a nonzero entry is blocked.
func MaskOf(g *G.ExprGraph, dt tensor.Dtype, name string, a Array) (*G.Node, error) {
	m, err := graph.NewMask(g, dt, a.TensorShape(), name)
	if err != nil {
		return nil, err
	}
	blocked := make([]bool, len(a.Data))
	for i, b := range a.Data {
		blocked[i] = b != 0
	}
	return m, graph.SetMask(m, blocked)
}
