package graph_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// variantCase is one PyTorch reference case of testdata/golden/variants (format:
// its README.md). Everything the test builds comes from the case's own fields.
type variantCase struct {
	path                                     string
	Name                                     string
	Batch, SeqQ, SeqK, DModel, DValue, Heads int
	KVHeads                                  int
	Scale                                    float64
	Cross, Causal                            bool
	Window                                   int // 0: none
	RoPE                                     *struct {
		Style string  `json:"style"`
		Theta float64 `json:"theta"`
	}
	arrays map[string]graphtest.Array
}

// variantScalars are the non-array fields a case may have; "note" is free text.
var variantScalars = []string{"name", "note", "batch", "seq_q", "seq_k", "d_model", "d_value", "heads", "kv_heads",
	"scale", "cross", "causal", "window", "rope"}

// variantOutputs are the fields the test computes and compares, in this order.
var variantOutputs = []string{"out", "attn", "alibi_slopes", "grad_x", "grad_y", "grad_ctx", "grad_wq", "grad_wk", "grad_wv", "grad_wo", "grad_bias"}

func loadVariantCase(path string) (*variantCase, error) {
	fields, err := graphtest.ReadFields(path)
	if err != nil {
		return nil, err
	}
	c := &variantCase{path: path, arrays: map[string]graphtest.Array{}}
	dst := map[string]any{"name": &c.Name, "batch": &c.Batch, "seq_q": &c.SeqQ, "seq_k": &c.SeqK, "d_model": &c.DModel,
		"d_value": &c.DValue, "heads": &c.Heads, "kv_heads": &c.KVHeads, "scale": &c.Scale, "cross": &c.Cross,
		"causal": &c.Causal, "window": &c.Window, "rope": &c.RoPE}
	for _, k := range []string{"name", "batch", "seq_q", "seq_k", "d_model", "d_value", "heads", "scale", "cross", "causal"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Errorf("%s: field %q missing", path, k)
		}
	}
	for k, v := range fields {
		if k == "note" {
			continue
		}
		if d, ok := dst[k]; ok {
			dec := json.NewDecoder(strings.NewReader(string(v)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(d); err != nil {
				return nil, fmt.Errorf("%s: field %q: %v", path, k, err)
			}
			continue
		}
		a, err := graphtest.DecodeArray(v)
		if err != nil {
			return nil, fmt.Errorf("%s: field %q: %v", path, k, err)
		}
		c.arrays[k] = a
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Heads < 1 || c.KVHeads < 1 || c.Heads%c.KVHeads != 0 || c.DModel%c.Heads != 0 || c.DValue%c.Heads != 0 {
		return nil, fmt.Errorf("%s: heads %d, kv_heads %d, d_model %d, d_value %d do not fit", path, c.Heads, c.KVHeads, c.DModel, c.DValue)
	}
	if c.Window < 0 {
		return nil, fmt.Errorf("%s: window %d", path, c.Window)
	}
	if c.RoPE != nil && c.RoPE.Style != "interleaved" && c.RoPE.Style != "half" {
		return nil, fmt.Errorf("%s: unsupported rope style %q", path, c.RoPE.Style)
	}
	// Every array must have the shape the READMEs give it; anything else is an error.
	dh, dvh := c.DModel/c.Heads, c.DValue/c.Heads
	dOut := c.DValue
	if _, ok := c.arrays["wo"]; ok {
		dOut = c.DModel
	}
	shapes := map[string][]int{
		"x": {c.Batch, c.SeqQ, c.DModel}, "grad_x": {c.Batch, c.SeqQ, c.DModel},
		"y": {c.Batch, c.SeqK, c.DModel}, "grad_y": {c.Batch, c.SeqK, c.DModel},
		"ctx": {c.Batch, c.SeqK - c.SeqQ, c.DModel}, "grad_ctx": {c.Batch, c.SeqK - c.SeqQ, c.DModel},
		"wq": {c.DModel, c.DModel}, "grad_wq": {c.DModel, c.DModel},
		"wk": {c.DModel, c.KVHeads * dh}, "grad_wk": {c.DModel, c.KVHeads * dh},
		"wv": {c.DModel, c.KVHeads * dvh}, "grad_wv": {c.DModel, c.KVHeads * dvh},
		"wo": {c.DValue, c.DModel}, "grad_wo": {c.DValue, c.DModel},
		"r": {c.Batch, c.SeqQ, dOut}, "out": {c.Batch, c.SeqQ, dOut},
		"attn": {c.Batch, c.Heads, c.SeqQ, c.SeqK}, "mask": {c.Batch, c.SeqQ, c.SeqK},
		"alibi_slopes": {c.Heads},
	}
	for k, a := range c.arrays {
		want, ok := shapes[k]
		if k == "bias" || k == "grad_bias" {
			if len(a.Shape) == 4 && (a.Shape[0] == 1 || a.Shape[0] == c.Batch) && (a.Shape[1] == 1 || a.Shape[1] == c.Heads) {
				want, ok = []int{a.Shape[0], a.Shape[1], c.SeqQ, c.SeqK}, true
			} else {
				want, ok = []int{-1}, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: unknown field %q", path, k)
		}
		if fmt.Sprint(want) != fmt.Sprint(a.Shape) {
			return nil, fmt.Errorf("%s: field %q has shape %v; want %v", path, k, a.Shape, want)
		}
	}
	for _, k := range []string{"x", "wq", "wk", "wv", "r", "out"} {
		if _, ok := c.arrays[k]; !ok {
			return nil, fmt.Errorf("%s: field %q missing", path, k)
		}
	}
	_, hasCtx := c.arrays["ctx"]
	_, hasY := c.arrays["y"]
	switch {
	case c.Cross && !hasY, !c.Cross && hasY:
		return nil, fmt.Errorf("%s: cross %v but y present %v", path, c.Cross, hasY)
	case !c.Cross && c.SeqK != c.SeqQ && !hasCtx:
		return nil, fmt.Errorf("%s: seq_k %d ≠ seq_q %d without ctx", path, c.SeqK, c.SeqQ)
	case hasCtx && (c.Cross || c.SeqK <= c.SeqQ):
		return nil, fmt.Errorf("%s: ctx present with cross %v, seq_k %d, seq_q %d", path, c.Cross, c.SeqK, c.SeqQ)
	}
	for k := range c.arrays {
		if strings.HasPrefix(k, "grad_") {
			if _, ok := c.arrays[strings.TrimPrefix(k, "grad_")]; !ok {
				return nil, fmt.Errorf("%s: %q without %q", path, k, strings.TrimPrefix(k, "grad_"))
			}
		}
	}
	return c, nil
}

// loadVariantCases reads every *.json of dir: an error when there is none.
func loadVariantCases(dir string) ([]*variantCase, error) {
	files, err := graphtest.CaseFiles(dir)
	if err != nil {
		return nil, err
	}
	var cases []*variantCase
	for _, f := range files {
		c, err := loadVariantCase(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func variantsDir() string {
	return graphtest.CaseDir("GOLDEN_VARIANTS_DIR", filepath.Join("testdata", "golden", "variants"))
}

// variantRun is a case's computed fields and the largest |score| it met.
type variantRun struct {
	got      map[string][]float64
	maxScore float64
}

// runVariant builds the case's graph with FlashAttention (tiles bq × bk) and returns
// every field it computes.
func runVariant(c *variantCase, dt tensor.Dtype, bq, bk int) (*variantRun, error) {
	g := G.NewGraph()
	input := func(name string) *G.Node {
		v := c.arrays[name].Dense(dt)
		return G.NewTensor(g, dt, v.Dims(), G.WithShape(v.Shape()...), G.WithName("case."+name), G.WithValue(v))
	}
	proj := func(x, w *G.Node) (*G.Node, error) {
		xs := x.Shape()
		x2, err := G.Reshape(x, tensor.Shape{xs[0] * xs[1], xs[2]})
		if err != nil {
			return nil, err
		}
		y, err := G.Mul(x2, w)
		if err != nil {
			return nil, err
		}
		return G.Reshape(y, tensor.Shape{xs[0], xs[1], w.Shape()[1]})
	}
	var wrt G.Nodes
	var names []string
	param := func(name string) *G.Node {
		n := input(name)
		if _, ok := c.arrays["grad_"+name]; ok {
			wrt, names = append(wrt, n), append(names, "grad_"+name)
		}
		return n
	}
	x := param("x")
	src := x
	var err error
	if c.Cross {
		src = param("y")
	} else if _, ok := c.arrays["ctx"]; ok {
		if src, err = G.Concat(1, param("ctx"), x); err != nil {
			return nil, err
		}
	}
	wq, wk, wv := param("wq"), param("wk"), param("wv")
	q, err := proj(x, wq)
	if err != nil {
		return nil, err
	}
	k, err := proj(src, wk)
	if err != nil {
		return nil, err
	}
	v, err := proj(src, wv)
	if err != nil {
		return nil, err
	}
	dh := c.DModel / c.Heads
	if c.RoPE != nil {
		style := graph.RoPEInterleaved
		if c.RoPE.Style == "half" {
			style = graph.RoPEHalf
		}
		ro := graph.RoPEOpts{HeadDim: dh, Theta: c.RoPE.Theta, Style: style, Offset: c.SeqK - c.SeqQ}
		if q, err = graph.RoPE(q, ro); err != nil {
			return nil, err
		}
		ro.Offset = 0
		if k, err = graph.RoPE(k, ro); err != nil {
			return nil, err
		}
	}
	o := graph.FlashOpts{Heads: c.Heads, Scale: c.Scale, Causal: c.Causal, BlockQ: bq, BlockK: bk}
	if c.Window > 0 {
		o.Window = graph.SlidingWindow(c.Window)
	}
	if s, ok := c.arrays["alibi_slopes"]; ok {
		o.ALiBi = s.Data
	}
	if _, ok := c.arrays["bias"]; ok {
		o.Bias = param("bias")
	}
	if m, ok := c.arrays["mask"]; ok {
		if o.Mask, err = graphtest.MaskOf(g, dt, "case.mask", m); err != nil {
			return nil, err
		}
	}
	out, err := graph.FlashAttention(q, k, v, o)
	if err != nil {
		return nil, err
	}
	if _, ok := c.arrays["wo"]; ok {
		if out, err = proj(out, param("wo")); err != nil {
			return nil, err
		}
	}
	weights, err := graph.FlashWeights(q, k, o)
	if err != nil {
		return nil, err
	}
	grads, err := graphtest.WeightedGrads(out, input("r"), wrt)
	if err != nil {
		return nil, err
	}
	if err := graphtest.RunAll(g); err != nil {
		return nil, err
	}
	run := &variantRun{got: map[string][]float64{}}
	vals := func(n *G.Node) []float64 {
		switch d := n.Value().Data().(type) {
		case []float64:
			return append([]float64(nil), d...)
		case []float32:
			f := make([]float64, len(d))
			for i, x := range d {
				f[i] = float64(x)
			}
			return f
		}
		return nil
	}
	run.got["out"], run.got["attn"] = vals(out), vals(weights)
	run.got["alibi_slopes"], _ = graph.ALiBiSlopes(c.Heads)
	for i, gn := range grads {
		run.got[names[i]] = vals(gn)
	}
	// The largest |score| (for the float32 tolerance), from q and k as computed.
	qv, kv := vals(q), vals(k)
	var bias []float64
	var bs []int
	if b, ok := c.arrays["bias"]; ok {
		bias, bs = b.Data, b.Shape
	}
	for b := 0; b < c.Batch; b++ {
		for h := 0; h < c.Heads; h++ {
			gh := h / (c.Heads / c.KVHeads)
			for i := 0; i < c.SeqQ; i++ {
				for j := 0; j < c.SeqK; j++ {
					s := 0.0
					for d := 0; d < dh; d++ {
						s += qv[(b*c.SeqQ+i)*c.Heads*dh+h*dh+d] * kv[(b*c.SeqK+j)*c.KVHeads*dh+gh*dh+d]
					}
					s *= c.Scale
					if bias != nil {
						s += bias[((min(b, bs[0]-1)*bs[1]+min(h, bs[1]-1))*c.SeqQ+i)*c.SeqK+j]
					}
					run.maxScore = math.Max(run.maxScore, math.Abs(s))
				}
			}
		}
	}
	return run, nil
}

// compareVariant checks every output field the case has against run; it returns one
// message per field out of tolerance and the worst error of each field.
func compareVariant(c *variantCase, run *variantRun, tol float64) (fails []string, worst map[string]float64) {
	worst = map[string]float64{}
	for k := range c.arrays {
		if !isInputField(k) && !contains(variantOutputs, k) {
			fails = append(fails, fmt.Sprintf("field %q is neither an input nor an output the test computes", k))
		}
	}
	for _, k := range variantOutputs {
		want, ok := c.arrays[k]
		if !ok {
			continue
		}
		got, ok := run.got[k]
		if !ok {
			fails = append(fails, fmt.Sprintf("%s: not computed", k))
			continue
		}
		t := tol
		if k == "alibi_slopes" {
			t = 1e-12
		}
		e, at := graphtest.RelAbsErr(got, want.Data)
		worst[k] = e
		if e > t {
			g := math.NaN()
			if at < len(got) {
				g = got[at]
			}
			fails = append(fails, fmt.Sprintf("%s[%d] = %.12g, PyTorch %.12g (error %.3g > %g)", k, at, g, want.Data[at], e, t))
		}
	}
	return fails, worst
}

func isInputField(k string) bool {
	return contains([]string{"x", "y", "ctx", "wq", "wk", "wv", "wo", "r", "mask", "bias"}, k)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// worstField is the largest error of a case over its fields and tilings.
type worstField struct {
	field    string
	err, tol float64
}

// float32Tol is 1e-4, widened in proportion to the largest |score| beyond 64, as in
// layers' golden test: float32 rounding of a score s is about |s|·6e-8 and the softmax
// exponentiates it.
func float32Tol(maxScore float64) float64 { return 1e-4 * math.Max(1, maxScore/64) }

// TestGoldenVariants rebuilds every PyTorch case of testdata/golden/variants (or
// $GOLDEN_VARIANTS_DIR) with RoPE, FlashAttention and FlashWeights and checks every
// output field the case has — out, attn, the ALiBi slopes and every gradient — in
// float64 (1e-9) and float32 (1e-4, scaled for large scores), with the default tiles
// and with small tiles that do not divide the lengths.
func TestGoldenVariants(t *testing.T) { checkGoldenDir(t, variantsDir()) }

// TestGoldenVariantsExtra is TestGoldenVariants on testdata/golden/variants_extra:
// PyTorch cases of the same format made by its gen.py for combinations the shared
// cases lack (two-sided window, ALiBi of 3 and 6 heads, (B, 1) and (1, 1) biases,
// cross attention with more queries than keys, a mask with a fully blocked row).
func TestGoldenVariantsExtra(t *testing.T) {
	checkGoldenDir(t, filepath.Join("testdata", "golden", "variants_extra"))
}

func checkGoldenDir(t *testing.T, dir string) {
	cases, err := loadVariantCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string]worstField{}
	defer func() {
		for _, k := range graphtest.SortedKeys(summary) {
			w := summary[k]
			t.Logf("%s worst %.3g in %s (tolerance %.3g)", k, w.err, w.field, w.tol)
		}
	}()
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			for _, blk := range [][2]int{{0, 0}, {3, 5}} {
				t.Run(fmt.Sprintf("%s/%v/blocks%dx%d", c.Name, dt, blk[0], blk[1]), func(t *testing.T) {
					run, err := runVariant(c, dt, blk[0], blk[1])
					if err != nil {
						t.Fatal(err)
					}
					tol := 1e-9
					if dt == tensor.Float32 {
						tol = float32Tol(run.maxScore)
					}
					fails, worst := compareVariant(c, run, tol)
					for _, f := range fails {
						t.Error(f)
					}
					key := fmt.Sprintf("%-24s %v", c.Name, dt)
					for k, e := range worst {
						if e >= summary[key].err {
							summary[key] = worstField{k, e, tol}
						}
					}
				})
			}
		}
	}
}

// TestGoldenVariantsMutation shows the golden comparison can fail: changing any one
// number of any output field of a case (or of an input the graph reads) is caught, as
// are a directory without cases and a field the test does not know.
func TestGoldenVariantsMutation(t *testing.T) {
	if _, err := loadVariantCases(t.TempDir()); err == nil {
		t.Error("an empty directory loaded without error")
	}
	cases, err := loadVariantCases(variantsDir())
	if err != nil {
		t.Fatal(err)
	}
	// The smallest case keeps this fast; every output field it has is mutated.
	c := cases[0]
	for _, x := range cases {
		if len(x.arrays["out"].Data) < len(c.arrays["out"].Data) {
			c = x
		}
	}
	run, err := runVariant(c, tensor.Float64, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fails, _ := compareVariant(c, run, 1e-9); len(fails) > 0 {
		t.Fatalf("%s fails before mutation: %v", c.Name, fails)
	}
	mutated := 0
	for _, k := range variantOutputs {
		a, ok := c.arrays[k]
		if !ok {
			continue
		}
		for _, at := range []int{0, len(a.Data) / 2, len(a.Data) - 1} {
			orig := a.Data[at]
			a.Data[at] = orig + 1e-8*math.Max(1, math.Abs(orig))
			if fails, _ := compareVariant(c, run, 1e-9); len(fails) == 0 {
				t.Errorf("%s: %s[%d] changed by 1e-8 and the comparison still passes", c.Name, k, at)
			}
			a.Data[at] = orig
			mutated++
		}
	}
	// An input changed: the recomputed fields no longer match.
	x := c.arrays["x"]
	x.Data[len(x.Data)-1] += 1e-6
	run2, err := runVariant(c, tensor.Float64, 0, 0)
	x.Data[len(x.Data)-1] -= 1e-6
	if err != nil {
		t.Fatal(err)
	}
	if fails, _ := compareVariant(c, run2, 1e-9); len(fails) == 0 {
		t.Errorf("%s: x changed by 1e-6 and the comparison still passes", c.Name)
	}
	// A field the test does not know is an error, not ignored.
	dir := t.TempDir()
	var m map[string]any
	filetest.ReadJSON(t, c.path, &m)
	m["rel_pos_buckets"] = []any{1.0, 2.0}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "x.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadVariantCases(dir); err == nil || !strings.Contains(err.Error(), "rel_pos_buckets") {
		t.Errorf("an unknown field: error %v", err)
	}
	t.Logf("%s: %d single-number mutations of %d output fields all caught", c.Name, mutated, mutated/3)
}
