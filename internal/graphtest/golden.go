package graphtest

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"gorgonia.org/tensor"
)

// Array is a golden array: its shape and its values, flat and row-major.
type Array struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// TensorShape is a's shape as a tensor.Shape.
func (a Array) TensorShape() tensor.Shape { return tensor.Shape(append([]int(nil), a.Shape...)) }

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
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("golden directory: %v", err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden cases in %s", dir)
	}
	sort.Strings(paths)
	cases := make([]*Case, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatalf("%s: %v", p, err)
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
	if len(got) != len(want) {
		return math.Inf(1), -1
	}
	worst, at := 0.0, 0
	for i := range got {
		d := math.Abs(got[i]-want[i]) / math.Max(1, math.Abs(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}
