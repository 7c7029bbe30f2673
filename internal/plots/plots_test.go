package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
	"gonum.org/v1/plot/plotter"
)

// causal returns a T×T lower-triangular attention matrix: head 0 attends to the
// token itself (identity), other heads spread uniformly over the prefix.
func causal(t, head int) [][]float64 {
	m := make([][]float64, t)
	for q := range m {
		m[q] = make([]float64, t)
		for k := 0; k <= q; k++ {
			if head == 0 {
				if k == q {
					m[q][k] = 1
				}
			} else {
				m[q][k] = 1 / float64(q+1)
			}
		}
	}
	return m
}

func causalWeights(blocks, heads, t int) [][][][]float64 {
	w := make([][][][]float64, blocks)
	for b := range w {
		w[b] = make([][][]float64, heads)
		for h := range w[b] {
			w[b][h] = causal(t, h)
		}
	}
	return w
}

func tokensN(n int) []string {
	const text = "the quick brown fox jumps over the lazy dog, then naps in the sun."
	ts := make([]string, n)
	for i := range ts {
		ts[i] = string(text[i%len(text)])
		if ts[i] == " " {
			ts[i] = "␣"
		}
	}
	return ts
}

func lossPoints(n int) []Point {
	pts := make([]Point, n)
	for i := range pts {
		s := i * 50
		pts[i] = Point{Step: s, Train: 1 + 3*math.Exp(-float64(s)/300), Val: math.NaN()}
		if i%4 == 0 {
			pts[i].Val = 1.2 + 3*math.Exp(-float64(s)/350)
		}
	}
	return pts
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

// lum is the luminance of c in [0, 1].
func lum(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}

func centre(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// onlyFile asserts dir holds exactly the file name (no temporary files).
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	names := filetest.Names(t, dir)
	if len(names) != 1 || names[0] != name {
		t.Fatalf("directory holds %v, want only %s", names, name)
	}
}

func TestLossPNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.png")
	if err := LossPNG(path, "loss: synthetic", lossPoints(40), nil); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, "loss.png")
	img := decode(t, path)
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 500 {
		t.Fatalf("size %v, want 800×500", b.Size())
	}
	// Both curves are drawn: pixels of each line colour, spread over most of the width.
	near := func(c color.Color, want color.RGBA) bool {
		r, g, b, _ := c.RGBA()
		d := math.Abs(float64(r>>8)-float64(want.R)) + math.Abs(float64(g>>8)-float64(want.G)) + math.Abs(float64(b>>8)-float64(want.B))
		return d < 30
	}
	for _, c := range []struct {
		name string
		col  color.RGBA
	}{{"train", evalTrainColor}, {"validation", valColor}} {
		n, minX, maxX := 0, math.MaxInt, -1
		for y := 0; y < 500; y++ {
			for x := 0; x < 800; x++ {
				if near(img.At(x, y), c.col) {
					n++
					minX, maxX = min(minX, x), max(maxX, x)
				}
			}
		}
		if n < 500 || maxX-minX < 500 {
			t.Errorf("%s curve: %d pixels of its colour spanning x %d..%d; want a line across the plot", c.name, n, minX, maxX)
		}
	}
	// The white background and dark text are both present.
	if lum(img.At(2, 2)) < 0.99 {
		t.Errorf("corner pixel %v is not white", img.At(2, 2))
	}
}

// TestLossPNGSteps draws every step's loss (pale) and its smoothed curve in the train
// colour across the plot, on a log axis when the losses span more than a factor 10.
func TestLossPNGSteps(t *testing.T) {
	var steps []StepLoss
	for s := 1; s <= 200; s++ {
		steps = append(steps, StepLoss{Step: s, Loss: 4*math.Exp(-float64(s)/20) + 0.01 + 0.05*math.Sin(float64(s))})
	}
	pts := []Point{{Step: 0, Train: math.NaN(), Val: 4.1}, {Step: 100, Train: 0.2, Val: 0.1}, {Step: 200, Train: 0.03, Val: 0.02}}
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := LossPNG(path, "steps", pts, steps); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	n, minX, maxX := 0, math.MaxInt, -1
	for y := 0; y < 500; y++ {
		for x := 0; x < 800; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if d := math.Abs(float64(r>>8)-0x1f) + math.Abs(float64(g>>8)-0x77) + math.Abs(float64(b>>8)-0xb4); d < 30 {
				n++
				minX, maxX = min(minX, x), max(maxX, x)
			}
		}
	}
	if n < 500 || maxX-minX < 500 {
		t.Errorf("smoothed step curve: %d pixels spanning x %d..%d", n, minX, maxX)
	}
	xy := func(ys ...float64) plotter.XYs {
		var out plotter.XYs
		for i, y := range ys {
			out = append(out, plotter.XY{X: float64(i), Y: y})
		}
		return out
	}
	for _, c := range []struct {
		ys   []float64
		want bool
	}{{[]float64{4, 0.5}, false}, {[]float64{4, 0.39}, true}, {[]float64{0, 4}, false}, {[]float64{2.1, 2.0}, false}} {
		if got := wantLog(xy(c.ys...)); got != c.want {
			t.Errorf("wantLog(%v) = %v; want %v", c.ys, got, c.want)
		}
	}
	sm := Smooth([]float64{1, 3}, 0.9)
	if sm[0] != 1 || math.Abs(sm[1]-(0.9*0.1+0.1*3)/(1-0.81)) > 1e-12 {
		t.Errorf("Smooth = %v", sm)
	}
}

func TestLossPNGOneCurveAndOnePoint(t *testing.T) {
	dir := t.TempDir()
	if err := LossPNG(filepath.Join(dir, "a.png"), "", []Point{{Step: 7, Train: 2, Val: math.NaN()}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := LossPNG(filepath.Join(dir, "b.png"), "val only", []Point{{Step: 1, Train: math.NaN(), Val: 3}, {Step: 0, Train: math.NaN(), Val: 4}}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLossPNGErrors(t *testing.T) {
	dir := t.TempDir()
	nan := math.NaN()
	for name, pts := range map[string][]Point{
		"empty":    nil,
		"all NaN":  {{Step: 1, Train: nan, Val: nan}, {Step: 2, Train: nan, Val: nan}},
		"infinite": {{Step: 1, Train: 1, Val: 2}, {Step: 2, Train: math.Inf(1), Val: 2}},
	} {
		err := LossPNG(filepath.Join(dir, "x.png"), "t", pts, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "plots:") {
			t.Errorf("%s: error %v, want a plots: error", name, err)
		}
	}
	// An unwritable destination fails and leaves nothing behind.
	err := LossPNG(filepath.Join(dir, "missing", "x.png"), "t", lossPoints(3), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "plots:") {
		t.Errorf("missing directory: error %v, want a plots: error", err)
	}
	if err := LossPNG(dir, "t", lossPoints(3), nil); err == nil { // path is a directory
		t.Error("writing over a directory: no error")
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("files left behind: %v", es)
	}
}

func TestAttentionPNG(t *testing.T) {
	const blocks, heads, n = 2, 2, 8
	w := causalWeights(blocks, heads, n)
	toks := tokensN(n)
	dir := t.TempDir()
	path := filepath.Join(dir, "attention.png")
	if err := AttentionPNG(path, "attention: synthetic", w, toks); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, "attention.png")
	img := decode(t, path)
	f := mustLayout(t, "attention: synthetic", w, toks, -1)
	if b := img.Bounds(); b.Dx() != f.w || b.Dy() != f.h || f.w < 600 || f.h < 600 {
		t.Fatalf("size %v, want %d×%d (at least 600×600)", b.Size(), f.w, f.h)
	}
	for b := range blocks {
		for h := range heads {
			// Above the diagonal: weight 0; (0, 0): weight 1; head 0's diagonal: 1;
			// head 1's last row: 1/8.
			zero, ok := f.cellRect(b, h, 0, n-1)
			if !ok {
				t.Fatalf("no panel for block %d, head %d", b, h)
			}
			one, _ := f.cellRect(b, h, 0, 0)
			last, _ := f.cellRect(b, h, n-1, n-1)
			if zero.Dx() < 10 || zero.Dy() < 10 || !zero.In(img.Bounds()) {
				t.Fatalf("block %d, head %d: cell rectangle %v", b, h, zero)
			}
			lz, l1, ll := lum(img.At(centre(zero).X, centre(zero).Y)), lum(img.At(centre(one).X, centre(one).Y)), lum(img.At(centre(last).X, centre(last).Y))
			if lz < 0.9 || l1 > 0.3 || lz-l1 < 0.6 {
				t.Errorf("block %d, head %d: luminance of a 0 cell %.2f, of a 1 cell %.2f; want light vs dark", b, h, lz, l1)
			}
			if h == 0 && ll > 0.3 {
				t.Errorf("block %d, head 0: diagonal cell luminance %.2f, want dark", b, ll)
			}
			if h == 1 && (ll < l1+0.3 || ll > lz-0.02) {
				t.Errorf("block %d, head 1: weight 1/8 cell luminance %.2f, want between %.2f and %.2f", b, ll, l1, lz)
			}
			// The whole cell has one colour (the sampled centre is representative).
			in := zero.Inset(2)
			c0 := img.At(in.Min.X, in.Min.Y)
			if c1 := img.At(in.Max.X-1, in.Max.Y-1); c0 != c1 {
				t.Errorf("block %d, head %d: cell %v not uniform: %v vs %v", b, h, zero, c0, c1)
			}
		}
	}
	if _, ok := f.cellRect(2, 0, 0, 0); ok {
		t.Error("cellRect of a missing block reports a panel")
	}
}

func TestAttentionPNGNilBlockAndLongTokens(t *testing.T) {
	const n = 64
	w := causalWeights(3, 2, n)
	w[1] = nil // no attention in block 1
	toks := tokensN(n)
	toks[5] = "a-very-long-token"
	f := mustLayout(t, "long", w, toks, 4) // block 1 skipped
	if _, ok := f.cellRect(1, 0, 0, 0); ok {
		t.Error("nil block 1 has a panel")
	}
	r, ok := f.cellRect(2, 1, 3, 60)
	if !ok || r.Dx() < 3 {
		t.Fatalf("cell of block 2, head 1: %v, %v", r, ok)
	}
	path := filepath.Join(t.TempDir(), "a.png")
	if err := AttentionPNG(path, "long", w, toks); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	if b := img.Bounds(); b.Dx() != f.w || b.Dy() != f.h {
		t.Fatalf("size %v, want %d×%d", b.Size(), f.w, f.h)
	}
	tk, _, _ := panelRoom(toks, 420, 11, 9)
	if tk.every < 2 || tk.font < 7 {
		t.Errorf("64 tokens: labelling every %d at %v pt; want every k ≥ 2 at ≥ 7 pt", tk.every, tk.font)
	}
}

func TestAttentionPNGErrors(t *testing.T) {
	good := func() [][][][]float64 { return causalWeights(1, 2, 4) }
	toks := tokensN(4)
	ragged := good()
	ragged[0][1][2] = ragged[0][1][2][:3]
	short := good()
	short[0][0] = short[0][0][:3]
	nan := good()
	nan[0][1][3][0] = math.NaN()
	big := good()
	big[0][0][1][1] = 1.5
	noHeads := good()
	noHeads = append(noHeads, [][][]float64{})
	cases := []struct {
		name   string
		w      [][][][]float64
		tokens []string
	}{
		{"no blocks", nil, toks},
		{"all blocks nil", [][][][]float64{nil, nil}, toks},
		{"no tokens", good(), nil},
		{"too many tokens", causalWeights(1, 1, 65), tokensN(65)},
		{"token count", good(), tokensN(5)},
		{"ragged", ragged, toks},
		{"missing row", short, toks},
		{"NaN", nan, toks},
		{"out of range", big, toks},
		{"block without heads", noHeads, toks},
	}
	dir := t.TempDir()
	for _, c := range cases {
		err := AttentionPNG(filepath.Join(dir, "a.png"), "t", c.w, c.tokens)
		if err == nil || !strings.HasPrefix(err.Error(), "plots:") {
			t.Errorf("%s: error %v, want a plots: error", c.name, err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("files left behind: %v", es)
	}
}

// TestDemo writes sample images into $PLOTS_DEMO_DIR for a look; skipped without it.
func TestDemo(t *testing.T) {
	dir := os.Getenv("PLOTS_DEMO_DIR")
	if dir == "" {
		t.Skip("PLOTS_DEMO_DIR not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := LossPNG(filepath.Join(dir, "loss.png"), "loss: synthetic run", lossPoints(61), nil); err != nil {
		t.Fatal(err)
	}
	if err := AttentionPNG(filepath.Join(dir, "attention.png"), "attention weights: synthetic causal pattern", causalWeights(2, 2, 8), tokensN(8)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{32, 64} {
		w := causalWeights(3, 2, n)
		w[1] = nil
		toks := tokensN(n)
		toks[5] = "a-very-long-token"
		if err := AttentionPNG(filepath.Join(dir, fmt.Sprintf("attention%d.png", n)), fmt.Sprintf("attention weights: %d tokens, block 1 without attention", n), w, toks); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAttentionPNGSmallAndUneven(t *testing.T) {
	// One token; block 0 with one head, block 1 with three.
	w := [][][][]float64{{{{1}}}, {{{1}}, {{1}}, {{0.9999999}}}}
	f := mustLayout(t, "", w, []string{"\n"}, 4)
	if _, ok := f.cellRect(0, 1, 0, 0); ok {
		t.Error("block 0 has no head 1 but cellRect finds it")
	}
	if err := AttentionPNG(filepath.Join(t.TempDir(), "a.png"), "", w, []string{"\n"}); err != nil {
		t.Fatal(err)
	}
}

func TestPrintableAndTicks(t *testing.T) {
	for in, want := range map[string]string{" ": "˽", "␣": "˽", "\n": `\n`, "\t": `\t`, "ab": "ab", "é": "é"} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	var labels []string
	for _, tk := range (niceTicks{n: 6}).Ticks(1.02, 4.2) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1.5 2.0 2.5 3.0 3.5 4.0" {
		t.Errorf("loss ticks %q", got)
	}
	labels = nil
	for _, tk := range (niceTicks{n: 8, integer: true}).Ticks(0, 3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 1 2 3" {
		t.Errorf("step ticks %q", got)
	}
}

// mustLayout is layoutAttention failing the test on an error or, when panels ≥ 0, on
// a layout of another number of panels.
func mustLayout(t *testing.T, title string, w [][][][]float64, toks []string, panels int) *attnFigure {
	t.Helper()
	f, err := layoutAttention(title, w, toks)
	if err != nil {
		t.Fatal(err)
	}
	if panels >= 0 && len(f.panels) != panels {
		t.Fatalf("%d panels, want %d", len(f.panels), panels)
	}
	return f
}
